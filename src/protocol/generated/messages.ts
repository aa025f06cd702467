import { decodeMessage, encodeMessage, MaxLengthError, MaxSizeError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface CapabilityAdvertisement {
  version: number
  network: string
  peer: Uint8Array<ArrayBuffer>
  role: string
  capabilities: string[]
  labels: Map<string, string>
  taskTypes: string[]
  slots: number
  addrs: string[]
  seq: bigint
  timestamp: bigint
  prefetch: number
}

export namespace CapabilityAdvertisement {
  export interface CapabilityAdvertisement$labelsEntry {
    key: string
    value: string
  }

  export namespace CapabilityAdvertisement$labelsEntry {
    let _codec: Codec<CapabilityAdvertisement$labelsEntry>

    export const codec = (): Codec<CapabilityAdvertisement$labelsEntry> => {
      if (_codec == null) {
        _codec = message<CapabilityAdvertisement$labelsEntry>((obj, w, opts = {}) => {
          if (opts.lengthDelimited !== false) {
            w.fork()
          }

          if ((obj.key != null && obj.key !== '')) {
            w.uint32(10)
            w.string(obj.key)
          }

          if ((obj.value != null && obj.value !== '')) {
            w.uint32(18)
            w.string(obj.value)
          }

          if (opts.lengthDelimited !== false) {
            w.ldelim()
          }
        }, (reader, length, opts = {}) => {
          const obj: any = {
            key: '',
            value: ''
          }

          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                obj.key = reader.string()
                break
              }
              case 2: {
                obj.value = reader.string()
                break
              }
              default: {
                reader.skipType(tag & 7)
                break
              }
            }
          }

          return obj
        }, function * (reader, length, prefix, opts = {}) {
          const end = length == null ? reader.len : reader.pos + length

          while (reader.pos < end) {
            const tag = reader.uint32()

            switch (tag >>> 3) {
              case 1: {
                yield {
                  field: `${prefix}.key`,
                  value: reader.string()
                }
                break
              }
              case 2: {
                yield {
                  field: `${prefix}.value`,
                  value: reader.string()
                }
                break
              }
              default: {
                reader.skipType(tag & 7)
                break
              }
            }
          }
        })
      }

      return _codec
    }

    export interface CapabilityAdvertisement$labelsEntryKeyFieldEvent {
      field: '$.key'
      value: string
    }

    export interface CapabilityAdvertisement$labelsEntryValueFieldEvent {
      field: '$.value'
      value: string
    }

    export function encode (obj: Partial<CapabilityAdvertisement$labelsEntry>): Uint8Array<ArrayBuffer> {
      return encodeMessage(obj, CapabilityAdvertisement$labelsEntry.codec())
    }

    export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityAdvertisement$labelsEntry>): CapabilityAdvertisement$labelsEntry {
      return decodeMessage(buf, CapabilityAdvertisement$labelsEntry.codec(), opts)
    }

    export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityAdvertisement$labelsEntry>): Generator<CapabilityAdvertisement$labelsEntryKeyFieldEvent | CapabilityAdvertisement$labelsEntryValueFieldEvent> {
      return streamMessage(buf, CapabilityAdvertisement$labelsEntry.codec(), opts)
    }
  }

  let _codec: Codec<CapabilityAdvertisement>

  export const codec = (): Codec<CapabilityAdvertisement> => {
    if (_codec == null) {
      _codec = message<CapabilityAdvertisement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.network != null && obj.network !== '')) {
          w.uint32(18)
          w.string(obj.network)
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.peer)
        }

        if ((obj.role != null && obj.role !== '')) {
          w.uint32(34)
          w.string(obj.role)
        }

        if (obj.capabilities != null && obj.capabilities.length > 0) {
          for (const value of obj.capabilities) {
            w.uint32(42)
            w.string(value)
          }
        }

        if (obj.labels != null && obj.labels.size > 0) {
          for (const [key, value] of obj.labels.entries()) {
            w.uint32(50)
            CapabilityAdvertisement.CapabilityAdvertisement$labelsEntry.codec().encode({ key, value }, w)
          }
        }

        if (obj.taskTypes != null && obj.taskTypes.length > 0) {
          for (const value of obj.taskTypes) {
            w.uint32(58)
            w.string(value)
          }
        }

        if ((obj.slots != null && obj.slots !== 0)) {
          w.uint32(64)
          w.uint32(obj.slots)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(74)
            w.string(value)
          }
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(80)
          w.uint64(obj.seq)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(88)
          w.uint64(obj.timestamp)
        }

        if ((obj.prefetch != null && obj.prefetch !== 0)) {
          w.uint32(96)
          w.uint32(obj.prefetch)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          network: '',
          peer: uint8ArrayAlloc(0),
          role: '',
          capabilities: [],
          labels: new Map<string, string>(),
          taskTypes: [],
          slots: 0,
          addrs: [],
          seq: 0n,
          timestamp: 0n,
          prefetch: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.network = reader.string()
              break
            }
            case 3: {
              obj.peer = reader.bytes()
              break
            }
            case 4: {
              obj.role = reader.string()
              break
            }
            case 5: {
              if (opts.limits?.capabilities != null && obj.capabilities.length === opts.limits.capabilities) {
                throw new MaxLengthError('Decode error - repeated field "capabilities" had too many elements')
              }

              obj.capabilities.push(reader.string())
              break
            }
            case 6: {
              if (opts.limits?.labels != null && obj.labels.size === opts.limits.labels) {
                throw new MaxSizeError('Decode error - map field "labels" had too many elements')
              }

              const entry = CapabilityAdvertisement.CapabilityAdvertisement$labelsEntry.codec().decode(reader, reader.uint32(), {
                limits: {
                  value: opts.limits?.labels$value
                }
              })
              obj.labels.set(entry.key, entry.value)
              break
            }
            case 7: {
              if (opts.limits?.taskTypes != null && obj.taskTypes.length === opts.limits.taskTypes) {
                throw new MaxLengthError('Decode error - repeated field "taskTypes" had too many elements')
              }

              obj.taskTypes.push(reader.string())
              break
            }
            case 8: {
              obj.slots = reader.uint32()
              break
            }
            case 9: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.string())
              break
            }
            case 10: {
              obj.seq = reader.uint64()
              break
            }
            case 11: {
              obj.timestamp = reader.uint64()
              break
            }
            case 12: {
              obj.prefetch = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          capabilities: 0,
          labels: 0,
          taskTypes: 0,
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.network`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.role`,
                value: reader.string()
              }
              break
            }
            case 5: {
              if (opts.limits?.capabilities != null && obj.capabilities === opts.limits.capabilities) {
                throw new MaxLengthError('Streaming decode error - repeated field "capabilities" had too many elements')
              }

              yield {
                field: `${prefix}.capabilities[]`,
                index: obj.capabilities,
                value: reader.string()
              }

              obj.capabilities++

              break
            }
            case 6: {
              if (opts.limits?.labels != null && obj.labels === opts.limits.labels) {
                throw new MaxLengthError('Decode error - map field "labels" had too many elements')
              }

              yield * CapabilityAdvertisement.CapabilityAdvertisement$labelsEntry.codec().stream(reader, reader.uint32(), `${prefix}.labels{}`, {
                limits: {
                  value: opts.limits?.labels$value
                }
              })

              obj.labels++

              break
            }
            case 7: {
              if (opts.limits?.taskTypes != null && obj.taskTypes === opts.limits.taskTypes) {
                throw new MaxLengthError('Streaming decode error - repeated field "taskTypes" had too many elements')
              }

              yield {
                field: `${prefix}.taskTypes[]`,
                index: obj.taskTypes,
                value: reader.string()
              }

              obj.taskTypes++

              break
            }
            case 8: {
              yield {
                field: `${prefix}.slots`,
                value: reader.uint32()
              }
              break
            }
            case 9: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.string()
              }

              obj.addrs++

              break
            }
            case 10: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.prefetch`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CapabilityAdvertisementVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface CapabilityAdvertisementNetworkFieldEvent {
    field: '$.network'
    value: string
  }

  export interface CapabilityAdvertisementPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CapabilityAdvertisementRoleFieldEvent {
    field: '$.role'
    value: string
  }

  export interface CapabilityAdvertisementCapabilitiesFieldEvent {
    field: '$.capabilities[]'
    index: number
    value: string
  }

  export interface CapabilityAdvertisementLabelsFieldEvent {
    field: '$.labels{}'
    key: string
    value: string
  }

  export interface CapabilityAdvertisementTaskTypesFieldEvent {
    field: '$.taskTypes[]'
    index: number
    value: string
  }

  export interface CapabilityAdvertisementSlotsFieldEvent {
    field: '$.slots'
    value: number
  }

  export interface CapabilityAdvertisementAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: string
  }

  export interface CapabilityAdvertisementSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface CapabilityAdvertisementTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface CapabilityAdvertisementPrefetchFieldEvent {
    field: '$.prefetch'
    value: number
  }

  export function encode (obj: Partial<CapabilityAdvertisement>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CapabilityAdvertisement.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityAdvertisement>): CapabilityAdvertisement {
    return decodeMessage(buf, CapabilityAdvertisement.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapabilityAdvertisement>): Generator<CapabilityAdvertisementVersionFieldEvent | CapabilityAdvertisementNetworkFieldEvent | CapabilityAdvertisementPeerFieldEvent | CapabilityAdvertisementRoleFieldEvent | CapabilityAdvertisementCapabilitiesFieldEvent | CapabilityAdvertisementLabelsFieldEvent | CapabilityAdvertisementTaskTypesFieldEvent | CapabilityAdvertisementSlotsFieldEvent | CapabilityAdvertisementAddrsFieldEvent | CapabilityAdvertisementSeqFieldEvent | CapabilityAdvertisementTimestampFieldEvent | CapabilityAdvertisementPrefetchFieldEvent> {
    return streamMessage(buf, CapabilityAdvertisement.codec(), opts)
  }
}

export interface HeartBeat {
  version: number
  network: string
  peer: Uint8Array<ArrayBuffer>
  seq: bigint
  running: number
  freeSlots: number
  queue: number
  load: number
  uptimeMs: bigint
  timestamp: bigint
}

export namespace HeartBeat {
  let _codec: Codec<HeartBeat>

  export const codec = (): Codec<HeartBeat> => {
    if (_codec == null) {
      _codec = message<HeartBeat>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.network != null && obj.network !== '')) {
          w.uint32(18)
          w.string(obj.network)
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.peer)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(32)
          w.uint64(obj.seq)
        }

        if ((obj.running != null && obj.running !== 0)) {
          w.uint32(40)
          w.uint32(obj.running)
        }

        if ((obj.freeSlots != null && obj.freeSlots !== 0)) {
          w.uint32(48)
          w.uint32(obj.freeSlots)
        }

        if ((obj.queue != null && obj.queue !== 0)) {
          w.uint32(56)
          w.uint32(obj.queue)
        }

        if ((obj.load != null && obj.load !== 0)) {
          w.uint32(65)
          w.double(obj.load)
        }

        if ((obj.uptimeMs != null && obj.uptimeMs !== 0n)) {
          w.uint32(72)
          w.uint64(obj.uptimeMs)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(80)
          w.uint64(obj.timestamp)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          network: '',
          peer: uint8ArrayAlloc(0),
          seq: 0n,
          running: 0,
          freeSlots: 0,
          queue: 0,
          load: 0,
          uptimeMs: 0n,
          timestamp: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.network = reader.string()
              break
            }
            case 3: {
              obj.peer = reader.bytes()
              break
            }
            case 4: {
              obj.seq = reader.uint64()
              break
            }
            case 5: {
              obj.running = reader.uint32()
              break
            }
            case 6: {
              obj.freeSlots = reader.uint32()
              break
            }
            case 7: {
              obj.queue = reader.uint32()
              break
            }
            case 8: {
              obj.load = reader.double()
              break
            }
            case 9: {
              obj.uptimeMs = reader.uint64()
              break
            }
            case 10: {
              obj.timestamp = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.network`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.running`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.freeSlots`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.queue`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.load`,
                value: reader.double()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.uptimeMs`,
                value: reader.uint64()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface HeartBeatVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface HeartBeatNetworkFieldEvent {
    field: '$.network'
    value: string
  }

  export interface HeartBeatPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HeartBeatSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface HeartBeatRunningFieldEvent {
    field: '$.running'
    value: number
  }

  export interface HeartBeatFreeSlotsFieldEvent {
    field: '$.freeSlots'
    value: number
  }

  export interface HeartBeatQueueFieldEvent {
    field: '$.queue'
    value: number
  }

  export interface HeartBeatLoadFieldEvent {
    field: '$.load'
    value: number
  }

  export interface HeartBeatUptimeMsFieldEvent {
    field: '$.uptimeMs'
    value: bigint
  }

  export interface HeartBeatTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export function encode (obj: Partial<HeartBeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HeartBeat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartBeat>): HeartBeat {
    return decodeMessage(buf, HeartBeat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartBeat>): Generator<HeartBeatVersionFieldEvent | HeartBeatNetworkFieldEvent | HeartBeatPeerFieldEvent | HeartBeatSeqFieldEvent | HeartBeatRunningFieldEvent | HeartBeatFreeSlotsFieldEvent | HeartBeatQueueFieldEvent | HeartBeatLoadFieldEvent | HeartBeatUptimeMsFieldEvent | HeartBeatTimestampFieldEvent> {
    return streamMessage(buf, HeartBeat.codec(), opts)
  }
}

export interface TaskRequest {
  version: number
  network: string
  id: string
  type: string
  payload: Uint8Array<ArrayBuffer>
  payloadSize: number
  requires: string[]
  selector: string
  timeoutMs: number
  attempt: number
  maxAttempts: number
  submitter: Uint8Array<ArrayBuffer>
  created: bigint
}

export namespace TaskRequest {
  let _codec: Codec<TaskRequest>

  export const codec = (): Codec<TaskRequest> => {
    if (_codec == null) {
      _codec = message<TaskRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.network != null && obj.network !== '')) {
          w.uint32(18)
          w.string(obj.network)
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(26)
          w.string(obj.id)
        }

        if ((obj.type != null && obj.type !== '')) {
          w.uint32(34)
          w.string(obj.type)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.payload)
        }

        if ((obj.payloadSize != null && obj.payloadSize !== 0)) {
          w.uint32(48)
          w.uint32(obj.payloadSize)
        }

        if (obj.requires != null && obj.requires.length > 0) {
          for (const value of obj.requires) {
            w.uint32(58)
            w.string(value)
          }
        }

        if ((obj.selector != null && obj.selector !== '')) {
          w.uint32(66)
          w.string(obj.selector)
        }

        if ((obj.timeoutMs != null && obj.timeoutMs !== 0)) {
          w.uint32(72)
          w.uint32(obj.timeoutMs)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(80)
          w.uint32(obj.attempt)
        }

        if ((obj.maxAttempts != null && obj.maxAttempts !== 0)) {
          w.uint32(88)
          w.uint32(obj.maxAttempts)
        }

        if ((obj.submitter != null && obj.submitter.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.submitter)
        }

        if ((obj.created != null && obj.created !== 0n)) {
          w.uint32(104)
          w.uint64(obj.created)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          network: '',
          id: '',
          type: '',
          payload: uint8ArrayAlloc(0),
          payloadSize: 0,
          requires: [],
          selector: '',
          timeoutMs: 0,
          attempt: 0,
          maxAttempts: 0,
          submitter: uint8ArrayAlloc(0),
          created: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.network = reader.string()
              break
            }
            case 3: {
              obj.id = reader.string()
              break
            }
            case 4: {
              obj.type = reader.string()
              break
            }
            case 5: {
              obj.payload = reader.bytes()
              break
            }
            case 6: {
              obj.payloadSize = reader.uint32()
              break
            }
            case 7: {
              if (opts.limits?.requires != null && obj.requires.length === opts.limits.requires) {
                throw new MaxLengthError('Decode error - repeated field "requires" had too many elements')
              }

              obj.requires.push(reader.string())
              break
            }
            case 8: {
              obj.selector = reader.string()
              break
            }
            case 9: {
              obj.timeoutMs = reader.uint32()
              break
            }
            case 10: {
              obj.attempt = reader.uint32()
              break
            }
            case 11: {
              obj.maxAttempts = reader.uint32()
              break
            }
            case 12: {
              obj.submitter = reader.bytes()
              break
            }
            case 13: {
              obj.created = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          requires: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.network`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.type`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.payloadSize`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              if (opts.limits?.requires != null && obj.requires === opts.limits.requires) {
                throw new MaxLengthError('Streaming decode error - repeated field "requires" had too many elements')
              }

              yield {
                field: `${prefix}.requires[]`,
                index: obj.requires,
                value: reader.string()
              }

              obj.requires++

              break
            }
            case 8: {
              yield {
                field: `${prefix}.selector`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.timeoutMs`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.maxAttempts`,
                value: reader.uint32()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.submitter`,
                value: reader.bytes()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.created`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface TaskRequestVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface TaskRequestNetworkFieldEvent {
    field: '$.network'
    value: string
  }

  export interface TaskRequestIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface TaskRequestTypeFieldEvent {
    field: '$.type'
    value: string
  }

  export interface TaskRequestPayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskRequestPayloadSizeFieldEvent {
    field: '$.payloadSize'
    value: number
  }

  export interface TaskRequestRequiresFieldEvent {
    field: '$.requires[]'
    index: number
    value: string
  }

  export interface TaskRequestSelectorFieldEvent {
    field: '$.selector'
    value: string
  }

  export interface TaskRequestTimeoutMsFieldEvent {
    field: '$.timeoutMs'
    value: number
  }

  export interface TaskRequestAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface TaskRequestMaxAttemptsFieldEvent {
    field: '$.maxAttempts'
    value: number
  }

  export interface TaskRequestSubmitterFieldEvent {
    field: '$.submitter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskRequestCreatedFieldEvent {
    field: '$.created'
    value: bigint
  }

  export function encode (obj: Partial<TaskRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest>): TaskRequest {
    return decodeMessage(buf, TaskRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskRequest>): Generator<TaskRequestVersionFieldEvent | TaskRequestNetworkFieldEvent | TaskRequestIdFieldEvent | TaskRequestTypeFieldEvent | TaskRequestPayloadFieldEvent | TaskRequestPayloadSizeFieldEvent | TaskRequestRequiresFieldEvent | TaskRequestSelectorFieldEvent | TaskRequestTimeoutMsFieldEvent | TaskRequestAttemptFieldEvent | TaskRequestMaxAttemptsFieldEvent | TaskRequestSubmitterFieldEvent | TaskRequestCreatedFieldEvent> {
    return streamMessage(buf, TaskRequest.codec(), opts)
  }
}

export interface TaskResponse {
  version: number
  network: string
  id: string
  attempt: number
  worker: Uint8Array<ArrayBuffer>
  status: string
  durationMs: number
  resultDigest: Uint8Array<ArrayBuffer>
  timestamp: bigint
}

export namespace TaskResponse {
  let _codec: Codec<TaskResponse>

  export const codec = (): Codec<TaskResponse> => {
    if (_codec == null) {
      _codec = message<TaskResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.network != null && obj.network !== '')) {
          w.uint32(18)
          w.string(obj.network)
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(26)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(32)
          w.uint32(obj.attempt)
        }

        if ((obj.worker != null && obj.worker.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.worker)
        }

        if ((obj.status != null && obj.status !== '')) {
          w.uint32(50)
          w.string(obj.status)
        }

        if ((obj.durationMs != null && obj.durationMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.durationMs)
        }

        if ((obj.resultDigest != null && obj.resultDigest.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.resultDigest)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(72)
          w.uint64(obj.timestamp)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          network: '',
          id: '',
          attempt: 0,
          worker: uint8ArrayAlloc(0),
          status: '',
          durationMs: 0,
          resultDigest: uint8ArrayAlloc(0),
          timestamp: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.network = reader.string()
              break
            }
            case 3: {
              obj.id = reader.string()
              break
            }
            case 4: {
              obj.attempt = reader.uint32()
              break
            }
            case 5: {
              obj.worker = reader.bytes()
              break
            }
            case 6: {
              obj.status = reader.string()
              break
            }
            case 7: {
              obj.durationMs = reader.uint32()
              break
            }
            case 8: {
              obj.resultDigest = reader.bytes()
              break
            }
            case 9: {
              obj.timestamp = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.network`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.worker`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.status`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.durationMs`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.resultDigest`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface TaskResponseVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface TaskResponseNetworkFieldEvent {
    field: '$.network'
    value: string
  }

  export interface TaskResponseIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface TaskResponseAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface TaskResponseWorkerFieldEvent {
    field: '$.worker'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskResponseStatusFieldEvent {
    field: '$.status'
    value: string
  }

  export interface TaskResponseDurationMsFieldEvent {
    field: '$.durationMs'
    value: number
  }

  export interface TaskResponseResultDigestFieldEvent {
    field: '$.resultDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TaskResponseTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export function encode (obj: Partial<TaskResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskResponse>): TaskResponse {
    return decodeMessage(buf, TaskResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskResponse>): Generator<TaskResponseVersionFieldEvent | TaskResponseNetworkFieldEvent | TaskResponseIdFieldEvent | TaskResponseAttemptFieldEvent | TaskResponseWorkerFieldEvent | TaskResponseStatusFieldEvent | TaskResponseDurationMsFieldEvent | TaskResponseResultDigestFieldEvent | TaskResponseTimestampFieldEvent> {
    return streamMessage(buf, TaskResponse.codec(), opts)
  }
}

export interface Offer {
  task?: TaskRequest
}

export namespace Offer {
  let _codec: Codec<Offer>

  export const codec = (): Codec<Offer> => {
    if (_codec == null) {
      _codec = message<Offer>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.task != null) {
          w.uint32(10)
          TaskRequest.codec().encode(obj.task, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.task = TaskRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.task
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * TaskRequest.codec().stream(reader, reader.uint32(), `${prefix}.task`, {
                limits: opts.limits?.task
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface OfferTaskVersionFieldEvent {
    field: '$.task.version'
    value: number
  }

  export interface OfferTaskNetworkFieldEvent {
    field: '$.task.network'
    value: string
  }

  export interface OfferTaskIdFieldEvent {
    field: '$.task.id'
    value: string
  }

  export interface OfferTaskTypeFieldEvent {
    field: '$.task.type'
    value: string
  }

  export interface OfferTaskPayloadFieldEvent {
    field: '$.task.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface OfferTaskPayloadSizeFieldEvent {
    field: '$.task.payloadSize'
    value: number
  }

  export interface OfferTaskRequiresFieldEvent {
    field: '$.task.requires[]'
    index: number
    value: string
  }

  export interface OfferTaskSelectorFieldEvent {
    field: '$.task.selector'
    value: string
  }

  export interface OfferTaskTimeoutMsFieldEvent {
    field: '$.task.timeoutMs'
    value: number
  }

  export interface OfferTaskAttemptFieldEvent {
    field: '$.task.attempt'
    value: number
  }

  export interface OfferTaskMaxAttemptsFieldEvent {
    field: '$.task.maxAttempts'
    value: number
  }

  export interface OfferTaskSubmitterFieldEvent {
    field: '$.task.submitter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface OfferTaskCreatedFieldEvent {
    field: '$.task.created'
    value: bigint
  }

  export function encode (obj: Partial<Offer>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Offer.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Offer {
    return decodeMessage(buf, Offer.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Generator<OfferTaskVersionFieldEvent | OfferTaskNetworkFieldEvent | OfferTaskIdFieldEvent | OfferTaskTypeFieldEvent | OfferTaskPayloadFieldEvent | OfferTaskPayloadSizeFieldEvent | OfferTaskRequiresFieldEvent | OfferTaskSelectorFieldEvent | OfferTaskTimeoutMsFieldEvent | OfferTaskAttemptFieldEvent | OfferTaskMaxAttemptsFieldEvent | OfferTaskSubmitterFieldEvent | OfferTaskCreatedFieldEvent> {
    return streamMessage(buf, Offer.codec(), opts)
  }
}

export interface Accept {
  id: string
  attempt: number
}

export namespace Accept {
  let _codec: Codec<Accept>

  export const codec = (): Codec<Accept> => {
    if (_codec == null) {
      _codec = message<Accept>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AcceptIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface AcceptAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export function encode (obj: Partial<Accept>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Accept.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accept>): Accept {
    return decodeMessage(buf, Accept.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accept>): Generator<AcceptIdFieldEvent | AcceptAttemptFieldEvent> {
    return streamMessage(buf, Accept.codec(), opts)
  }
}

export interface Refuse {
  id: string
  attempt: number
  reason: string
}

export namespace Refuse {
  let _codec: Codec<Refuse>

  export const codec = (): Codec<Refuse> => {
    if (_codec == null) {
      _codec = message<Refuse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(26)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0,
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            case 3: {
              obj.reason = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RefuseIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface RefuseAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface RefuseReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Refuse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Refuse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refuse>): Refuse {
    return decodeMessage(buf, Refuse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refuse>): Generator<RefuseIdFieldEvent | RefuseAttemptFieldEvent | RefuseReasonFieldEvent> {
    return streamMessage(buf, Refuse.codec(), opts)
  }
}

export interface Claim {
  id: string
  attempt: number
  freeSlots: number
}

export namespace Claim {
  let _codec: Codec<Claim>

  export const codec = (): Codec<Claim> => {
    if (_codec == null) {
      _codec = message<Claim>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if ((obj.freeSlots != null && obj.freeSlots !== 0)) {
          w.uint32(24)
          w.uint32(obj.freeSlots)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0,
          freeSlots: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            case 3: {
              obj.freeSlots = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.freeSlots`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ClaimIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface ClaimAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface ClaimFreeSlotsFieldEvent {
    field: '$.freeSlots'
    value: number
  }

  export function encode (obj: Partial<Claim>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Claim.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Claim>): Claim {
    return decodeMessage(buf, Claim.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Claim>): Generator<ClaimIdFieldEvent | ClaimAttemptFieldEvent | ClaimFreeSlotsFieldEvent> {
    return streamMessage(buf, Claim.codec(), opts)
  }
}

export interface Reject {
  id: string
  attempt: number
}

export namespace Reject {
  let _codec: Codec<Reject>

  export const codec = (): Codec<Reject> => {
    if (_codec == null) {
      _codec = message<Reject>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RejectIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface RejectAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export function encode (obj: Partial<Reject>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Reject.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reject>): Reject {
    return decodeMessage(buf, Reject.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reject>): Generator<RejectIdFieldEvent | RejectAttemptFieldEvent> {
    return streamMessage(buf, Reject.codec(), opts)
  }
}

export interface Renew {
  ids: string[]
  attempts: number[]
}

export namespace Renew {
  let _codec: Codec<Renew>

  export const codec = (): Codec<Renew> => {
    if (_codec == null) {
      _codec = message<Renew>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.ids != null && obj.ids.length > 0) {
          for (const value of obj.ids) {
            w.uint32(10)
            w.string(value)
          }
        }

        if (obj.attempts != null && obj.attempts.length > 0) {
          for (const value of obj.attempts) {
            w.uint32(16)
            w.uint32(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          ids: [],
          attempts: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ids != null && obj.ids.length === opts.limits.ids) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              obj.ids.push(reader.string())
              break
            }
            case 2: {
              if (opts.limits?.attempts != null && obj.attempts.length === opts.limits.attempts) {
                throw new MaxLengthError('Decode error - repeated field "attempts" had too many elements')
              }

              obj.attempts.push(reader.uint32())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          ids: 0,
          attempts: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.ids != null && obj.ids === opts.limits.ids) {
                throw new MaxLengthError('Streaming decode error - repeated field "ids" had too many elements')
              }

              yield {
                field: `${prefix}.ids[]`,
                index: obj.ids,
                value: reader.string()
              }

              obj.ids++

              break
            }
            case 2: {
              if (opts.limits?.attempts != null && obj.attempts === opts.limits.attempts) {
                throw new MaxLengthError('Streaming decode error - repeated field "attempts" had too many elements')
              }

              yield {
                field: `${prefix}.attempts[]`,
                index: obj.attempts,
                value: reader.uint32()
              }

              obj.attempts++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RenewIdsFieldEvent {
    field: '$.ids[]'
    index: number
    value: string
  }

  export interface RenewAttemptsFieldEvent {
    field: '$.attempts[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<Renew>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Renew.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Renew>): Renew {
    return decodeMessage(buf, Renew.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Renew>): Generator<RenewIdsFieldEvent | RenewAttemptsFieldEvent> {
    return streamMessage(buf, Renew.codec(), opts)
  }
}

export interface Result {
  id: string
  attempt: number
  ok: boolean
  output: Uint8Array<ArrayBuffer>
  error: string
  code: string
  durationMs: number
}

export namespace Result {
  let _codec: Codec<Result>

  export const codec = (): Codec<Result> => {
    if (_codec == null) {
      _codec = message<Result>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if ((obj.ok != null && obj.ok !== false)) {
          w.uint32(24)
          w.bool(obj.ok)
        }

        if ((obj.output != null && obj.output.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.output)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(42)
          w.string(obj.error)
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(50)
          w.string(obj.code)
        }

        if ((obj.durationMs != null && obj.durationMs !== 0)) {
          w.uint32(56)
          w.uint32(obj.durationMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0,
          ok: false,
          output: uint8ArrayAlloc(0),
          error: '',
          code: '',
          durationMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            case 3: {
              obj.ok = reader.bool()
              break
            }
            case 4: {
              obj.output = reader.bytes()
              break
            }
            case 5: {
              obj.error = reader.string()
              break
            }
            case 6: {
              obj.code = reader.string()
              break
            }
            case 7: {
              obj.durationMs = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.ok`,
                value: reader.bool()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.output`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.code`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.durationMs`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ResultIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface ResultAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface ResultOkFieldEvent {
    field: '$.ok'
    value: boolean
  }

  export interface ResultOutputFieldEvent {
    field: '$.output'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export interface ResultCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export interface ResultDurationMsFieldEvent {
    field: '$.durationMs'
    value: number
  }

  export function encode (obj: Partial<Result>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Result.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Result>): Result {
    return decodeMessage(buf, Result.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Result>): Generator<ResultIdFieldEvent | ResultAttemptFieldEvent | ResultOkFieldEvent | ResultOutputFieldEvent | ResultErrorFieldEvent | ResultCodeFieldEvent | ResultDurationMsFieldEvent> {
    return streamMessage(buf, Result.codec(), opts)
  }
}

export interface Ack {
  id: string
  attempt: number
  duplicate: boolean
  receipt?: Receipt
}

export namespace Ack {
  let _codec: Codec<Ack>

  export const codec = (): Codec<Ack> => {
    if (_codec == null) {
      _codec = message<Ack>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if ((obj.duplicate != null && obj.duplicate !== false)) {
          w.uint32(24)
          w.bool(obj.duplicate)
        }

        if (obj.receipt != null) {
          w.uint32(34)
          Receipt.codec().encode(obj.receipt, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0,
          duplicate: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            case 3: {
              obj.duplicate = reader.bool()
              break
            }
            case 4: {
              obj.receipt = Receipt.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.receipt
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.duplicate`,
                value: reader.bool()
              }
              break
            }
            case 4: {
              yield * Receipt.codec().stream(reader, reader.uint32(), `${prefix}.receipt`, {
                limits: opts.limits?.receipt
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AckIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface AckAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface AckDuplicateFieldEvent {
    field: '$.duplicate'
    value: boolean
  }

  export interface AckReceiptIdFieldEvent {
    field: '$.receipt.id'
    value: string
  }

  export interface AckReceiptAttemptFieldEvent {
    field: '$.receipt.attempt'
    value: number
  }

  export interface AckReceiptWorkerFieldEvent {
    field: '$.receipt.worker'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AckReceiptSubmitterFieldEvent {
    field: '$.receipt.submitter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AckReceiptCreditsFieldEvent {
    field: '$.receipt.credits'
    value: number
  }

  export interface AckReceiptDurationMsFieldEvent {
    field: '$.receipt.durationMs'
    value: number
  }

  export interface AckReceiptTimestampFieldEvent {
    field: '$.receipt.timestamp'
    value: bigint
  }

  export interface AckReceiptSignatureFieldEvent {
    field: '$.receipt.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AckReceiptEntriesIdFieldEvent {
    field: '$.receipt.entries[].id'
    value: string
    index: number
  }

  export interface AckReceiptEntriesAttemptFieldEvent {
    field: '$.receipt.entries[].attempt'
    value: number
    index: number
  }

  export interface AckReceiptEntriesCreditsFieldEvent {
    field: '$.receipt.entries[].credits'
    value: number
    index: number
  }

  export interface AckReceiptEntriesDurationMsFieldEvent {
    field: '$.receipt.entries[].durationMs'
    value: number
    index: number
  }

  export function encode (obj: Partial<Ack>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ack.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Ack {
    return decodeMessage(buf, Ack.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Generator<AckIdFieldEvent | AckAttemptFieldEvent | AckDuplicateFieldEvent | AckReceiptIdFieldEvent | AckReceiptAttemptFieldEvent | AckReceiptWorkerFieldEvent | AckReceiptSubmitterFieldEvent | AckReceiptCreditsFieldEvent | AckReceiptDurationMsFieldEvent | AckReceiptTimestampFieldEvent | AckReceiptSignatureFieldEvent | AckReceiptEntriesIdFieldEvent | AckReceiptEntriesAttemptFieldEvent | AckReceiptEntriesCreditsFieldEvent | AckReceiptEntriesDurationMsFieldEvent> {
    return streamMessage(buf, Ack.codec(), opts)
  }
}

export interface Cancel {
  id: string
  attempt: number
}

export namespace Cancel {
  let _codec: Codec<Cancel>

  export const codec = (): Codec<Cancel> => {
    if (_codec == null) {
      _codec = message<Cancel>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CancelIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface CancelAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export function encode (obj: Partial<Cancel>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Cancel.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cancel>): Cancel {
    return decodeMessage(buf, Cancel.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cancel>): Generator<CancelIdFieldEvent | CancelAttemptFieldEvent> {
    return streamMessage(buf, Cancel.codec(), opts)
  }
}

export interface CancelAck {
  id: string
  attempt: number
}

export namespace CancelAck {
  let _codec: Codec<CancelAck>

  export const codec = (): Codec<CancelAck> => {
    if (_codec == null) {
      _codec = message<CancelAck>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CancelAckIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface CancelAckAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export function encode (obj: Partial<CancelAck>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CancelAck.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CancelAck>): CancelAck {
    return decodeMessage(buf, CancelAck.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CancelAck>): Generator<CancelAckIdFieldEvent | CancelAckAttemptFieldEvent> {
    return streamMessage(buf, CancelAck.codec(), opts)
  }
}

export interface Receipt {
  id: string
  attempt: number
  worker: Uint8Array<ArrayBuffer>
  submitter: Uint8Array<ArrayBuffer>
  credits: number
  durationMs: number
  timestamp: bigint
  signature: Uint8Array<ArrayBuffer>
  entries: ReceiptEntry[]
}

export namespace Receipt {
  let _codec: Codec<Receipt>

  export const codec = (): Codec<Receipt> => {
    if (_codec == null) {
      _codec = message<Receipt>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if ((obj.worker != null && obj.worker.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.worker)
        }

        if ((obj.submitter != null && obj.submitter.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.submitter)
        }

        if ((obj.credits != null && obj.credits !== 0)) {
          w.uint32(41)
          w.double(obj.credits)
        }

        if ((obj.durationMs != null && obj.durationMs !== 0)) {
          w.uint32(48)
          w.uint32(obj.durationMs)
        }

        if ((obj.timestamp != null && obj.timestamp !== 0n)) {
          w.uint32(56)
          w.uint64(obj.timestamp)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.signature)
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(74)
            ReceiptEntry.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0,
          worker: uint8ArrayAlloc(0),
          submitter: uint8ArrayAlloc(0),
          credits: 0,
          durationMs: 0,
          timestamp: 0n,
          signature: uint8ArrayAlloc(0),
          entries: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            case 3: {
              obj.worker = reader.bytes()
              break
            }
            case 4: {
              obj.submitter = reader.bytes()
              break
            }
            case 5: {
              obj.credits = reader.double()
              break
            }
            case 6: {
              obj.durationMs = reader.uint32()
              break
            }
            case 7: {
              obj.timestamp = reader.uint64()
              break
            }
            case 8: {
              obj.signature = reader.bytes()
              break
            }
            case 9: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(ReceiptEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          entries: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.worker`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.submitter`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.credits`,
                value: reader.double()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.durationMs`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.timestamp`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 9: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of ReceiptEntry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ReceiptIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface ReceiptAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface ReceiptWorkerFieldEvent {
    field: '$.worker'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptSubmitterFieldEvent {
    field: '$.submitter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptCreditsFieldEvent {
    field: '$.credits'
    value: number
  }

  export interface ReceiptDurationMsFieldEvent {
    field: '$.durationMs'
    value: number
  }

  export interface ReceiptTimestampFieldEvent {
    field: '$.timestamp'
    value: bigint
  }

  export interface ReceiptSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ReceiptEntriesIdFieldEvent {
    field: '$.entries[].id'
    value: string
    index: number
  }

  export interface ReceiptEntriesAttemptFieldEvent {
    field: '$.entries[].attempt'
    value: number
    index: number
  }

  export interface ReceiptEntriesCreditsFieldEvent {
    field: '$.entries[].credits'
    value: number
    index: number
  }

  export interface ReceiptEntriesDurationMsFieldEvent {
    field: '$.entries[].durationMs'
    value: number
    index: number
  }

  export function encode (obj: Partial<Receipt>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Receipt.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Receipt {
    return decodeMessage(buf, Receipt.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Receipt>): Generator<ReceiptIdFieldEvent | ReceiptAttemptFieldEvent | ReceiptWorkerFieldEvent | ReceiptSubmitterFieldEvent | ReceiptCreditsFieldEvent | ReceiptDurationMsFieldEvent | ReceiptTimestampFieldEvent | ReceiptSignatureFieldEvent | ReceiptEntriesIdFieldEvent | ReceiptEntriesAttemptFieldEvent | ReceiptEntriesCreditsFieldEvent | ReceiptEntriesDurationMsFieldEvent> {
    return streamMessage(buf, Receipt.codec(), opts)
  }
}

export interface ReceiptEntry {
  id: string
  attempt: number
  credits: number
  durationMs: number
}

export namespace ReceiptEntry {
  let _codec: Codec<ReceiptEntry>

  export const codec = (): Codec<ReceiptEntry> => {
    if (_codec == null) {
      _codec = message<ReceiptEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if ((obj.credits != null && obj.credits !== 0)) {
          w.uint32(25)
          w.double(obj.credits)
        }

        if ((obj.durationMs != null && obj.durationMs !== 0)) {
          w.uint32(32)
          w.uint32(obj.durationMs)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          attempt: 0,
          credits: 0,
          durationMs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            case 3: {
              obj.credits = reader.double()
              break
            }
            case 4: {
              obj.durationMs = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.credits`,
                value: reader.double()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.durationMs`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ReceiptEntryIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface ReceiptEntryAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface ReceiptEntryCreditsFieldEvent {
    field: '$.credits'
    value: number
  }

  export interface ReceiptEntryDurationMsFieldEvent {
    field: '$.durationMs'
    value: number
  }

  export function encode (obj: Partial<ReceiptEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ReceiptEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptEntry>): ReceiptEntry {
    return decodeMessage(buf, ReceiptEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ReceiptEntry>): Generator<ReceiptEntryIdFieldEvent | ReceiptEntryAttemptFieldEvent | ReceiptEntryCreditsFieldEvent | ReceiptEntryDurationMsFieldEvent> {
    return streamMessage(buf, ReceiptEntry.codec(), opts)
  }
}

export interface StreamMessage {
  version: number
  offer?: Offer
  accept?: Accept
  refuse?: Refuse
  claim?: Claim
  reject?: Reject
  renew?: Renew
  result?: Result
  ack?: Ack
  cancel?: Cancel
  cancelAck?: CancelAck
}

export namespace StreamMessage {
  let _codec: Codec<StreamMessage>

  export const codec = (): Codec<StreamMessage> => {
    if (_codec == null) {
      _codec = message<StreamMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.offer != null) {
          w.uint32(18)
          Offer.codec().encode(obj.offer, w)
        }

        if (obj.accept != null) {
          w.uint32(26)
          Accept.codec().encode(obj.accept, w)
        }

        if (obj.refuse != null) {
          w.uint32(34)
          Refuse.codec().encode(obj.refuse, w)
        }

        if (obj.claim != null) {
          w.uint32(42)
          Claim.codec().encode(obj.claim, w)
        }

        if (obj.reject != null) {
          w.uint32(50)
          Reject.codec().encode(obj.reject, w)
        }

        if (obj.renew != null) {
          w.uint32(58)
          Renew.codec().encode(obj.renew, w)
        }

        if (obj.result != null) {
          w.uint32(66)
          Result.codec().encode(obj.result, w)
        }

        if (obj.ack != null) {
          w.uint32(74)
          Ack.codec().encode(obj.ack, w)
        }

        if (obj.cancel != null) {
          w.uint32(82)
          Cancel.codec().encode(obj.cancel, w)
        }

        if (obj.cancelAck != null) {
          w.uint32(90)
          CancelAck.codec().encode(obj.cancelAck, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.offer = Offer.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.offer
              })
              break
            }
            case 3: {
              obj.accept = Accept.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.accept
              })
              break
            }
            case 4: {
              obj.refuse = Refuse.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.refuse
              })
              break
            }
            case 5: {
              obj.claim = Claim.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.claim
              })
              break
            }
            case 6: {
              obj.reject = Reject.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.reject
              })
              break
            }
            case 7: {
              obj.renew = Renew.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.renew
              })
              break
            }
            case 8: {
              obj.result = Result.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.result
              })
              break
            }
            case 9: {
              obj.ack = Ack.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ack
              })
              break
            }
            case 10: {
              obj.cancel = Cancel.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.cancel
              })
              break
            }
            case 11: {
              obj.cancelAck = CancelAck.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.cancelAck
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield * Offer.codec().stream(reader, reader.uint32(), `${prefix}.offer`, {
                limits: opts.limits?.offer
              })

              break
            }
            case 3: {
              yield * Accept.codec().stream(reader, reader.uint32(), `${prefix}.accept`, {
                limits: opts.limits?.accept
              })

              break
            }
            case 4: {
              yield * Refuse.codec().stream(reader, reader.uint32(), `${prefix}.refuse`, {
                limits: opts.limits?.refuse
              })

              break
            }
            case 5: {
              yield * Claim.codec().stream(reader, reader.uint32(), `${prefix}.claim`, {
                limits: opts.limits?.claim
              })

              break
            }
            case 6: {
              yield * Reject.codec().stream(reader, reader.uint32(), `${prefix}.reject`, {
                limits: opts.limits?.reject
              })

              break
            }
            case 7: {
              yield * Renew.codec().stream(reader, reader.uint32(), `${prefix}.renew`, {
                limits: opts.limits?.renew
              })

              break
            }
            case 8: {
              yield * Result.codec().stream(reader, reader.uint32(), `${prefix}.result`, {
                limits: opts.limits?.result
              })

              break
            }
            case 9: {
              yield * Ack.codec().stream(reader, reader.uint32(), `${prefix}.ack`, {
                limits: opts.limits?.ack
              })

              break
            }
            case 10: {
              yield * Cancel.codec().stream(reader, reader.uint32(), `${prefix}.cancel`, {
                limits: opts.limits?.cancel
              })

              break
            }
            case 11: {
              yield * CancelAck.codec().stream(reader, reader.uint32(), `${prefix}.cancelAck`, {
                limits: opts.limits?.cancelAck
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface StreamMessageVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface StreamMessageOfferTaskVersionFieldEvent {
    field: '$.offer.task.version'
    value: number
  }

  export interface StreamMessageOfferTaskNetworkFieldEvent {
    field: '$.offer.task.network'
    value: string
  }

  export interface StreamMessageOfferTaskIdFieldEvent {
    field: '$.offer.task.id'
    value: string
  }

  export interface StreamMessageOfferTaskTypeFieldEvent {
    field: '$.offer.task.type'
    value: string
  }

  export interface StreamMessageOfferTaskPayloadFieldEvent {
    field: '$.offer.task.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StreamMessageOfferTaskPayloadSizeFieldEvent {
    field: '$.offer.task.payloadSize'
    value: number
  }

  export interface StreamMessageOfferTaskRequiresFieldEvent {
    field: '$.offer.task.requires[]'
    index: number
    value: string
  }

  export interface StreamMessageOfferTaskSelectorFieldEvent {
    field: '$.offer.task.selector'
    value: string
  }

  export interface StreamMessageOfferTaskTimeoutMsFieldEvent {
    field: '$.offer.task.timeoutMs'
    value: number
  }

  export interface StreamMessageOfferTaskAttemptFieldEvent {
    field: '$.offer.task.attempt'
    value: number
  }

  export interface StreamMessageOfferTaskMaxAttemptsFieldEvent {
    field: '$.offer.task.maxAttempts'
    value: number
  }

  export interface StreamMessageOfferTaskSubmitterFieldEvent {
    field: '$.offer.task.submitter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StreamMessageOfferTaskCreatedFieldEvent {
    field: '$.offer.task.created'
    value: bigint
  }

  export interface StreamMessageAcceptIdFieldEvent {
    field: '$.accept.id'
    value: string
  }

  export interface StreamMessageAcceptAttemptFieldEvent {
    field: '$.accept.attempt'
    value: number
  }

  export interface StreamMessageRefuseIdFieldEvent {
    field: '$.refuse.id'
    value: string
  }

  export interface StreamMessageRefuseAttemptFieldEvent {
    field: '$.refuse.attempt'
    value: number
  }

  export interface StreamMessageRefuseReasonFieldEvent {
    field: '$.refuse.reason'
    value: string
  }

  export interface StreamMessageClaimIdFieldEvent {
    field: '$.claim.id'
    value: string
  }

  export interface StreamMessageClaimAttemptFieldEvent {
    field: '$.claim.attempt'
    value: number
  }

  export interface StreamMessageClaimFreeSlotsFieldEvent {
    field: '$.claim.freeSlots'
    value: number
  }

  export interface StreamMessageRejectIdFieldEvent {
    field: '$.reject.id'
    value: string
  }

  export interface StreamMessageRejectAttemptFieldEvent {
    field: '$.reject.attempt'
    value: number
  }

  export interface StreamMessageRenewIdsFieldEvent {
    field: '$.renew.ids[]'
    index: number
    value: string
  }

  export interface StreamMessageRenewAttemptsFieldEvent {
    field: '$.renew.attempts[]'
    index: number
    value: number
  }

  export interface StreamMessageResultIdFieldEvent {
    field: '$.result.id'
    value: string
  }

  export interface StreamMessageResultAttemptFieldEvent {
    field: '$.result.attempt'
    value: number
  }

  export interface StreamMessageResultOkFieldEvent {
    field: '$.result.ok'
    value: boolean
  }

  export interface StreamMessageResultOutputFieldEvent {
    field: '$.result.output'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StreamMessageResultErrorFieldEvent {
    field: '$.result.error'
    value: string
  }

  export interface StreamMessageResultCodeFieldEvent {
    field: '$.result.code'
    value: string
  }

  export interface StreamMessageResultDurationMsFieldEvent {
    field: '$.result.durationMs'
    value: number
  }

  export interface StreamMessageAckIdFieldEvent {
    field: '$.ack.id'
    value: string
  }

  export interface StreamMessageAckAttemptFieldEvent {
    field: '$.ack.attempt'
    value: number
  }

  export interface StreamMessageAckDuplicateFieldEvent {
    field: '$.ack.duplicate'
    value: boolean
  }

  export interface StreamMessageAckReceiptIdFieldEvent {
    field: '$.ack.receipt.id'
    value: string
  }

  export interface StreamMessageAckReceiptAttemptFieldEvent {
    field: '$.ack.receipt.attempt'
    value: number
  }

  export interface StreamMessageAckReceiptWorkerFieldEvent {
    field: '$.ack.receipt.worker'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StreamMessageAckReceiptSubmitterFieldEvent {
    field: '$.ack.receipt.submitter'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StreamMessageAckReceiptCreditsFieldEvent {
    field: '$.ack.receipt.credits'
    value: number
  }

  export interface StreamMessageAckReceiptDurationMsFieldEvent {
    field: '$.ack.receipt.durationMs'
    value: number
  }

  export interface StreamMessageAckReceiptTimestampFieldEvent {
    field: '$.ack.receipt.timestamp'
    value: bigint
  }

  export interface StreamMessageAckReceiptSignatureFieldEvent {
    field: '$.ack.receipt.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface StreamMessageAckReceiptEntriesIdFieldEvent {
    field: '$.ack.receipt.entries[].id'
    value: string
    index: number
  }

  export interface StreamMessageAckReceiptEntriesAttemptFieldEvent {
    field: '$.ack.receipt.entries[].attempt'
    value: number
    index: number
  }

  export interface StreamMessageAckReceiptEntriesCreditsFieldEvent {
    field: '$.ack.receipt.entries[].credits'
    value: number
    index: number
  }

  export interface StreamMessageAckReceiptEntriesDurationMsFieldEvent {
    field: '$.ack.receipt.entries[].durationMs'
    value: number
    index: number
  }

  export interface StreamMessageCancelIdFieldEvent {
    field: '$.cancel.id'
    value: string
  }

  export interface StreamMessageCancelAttemptFieldEvent {
    field: '$.cancel.attempt'
    value: number
  }

  export interface StreamMessageCancelAckIdFieldEvent {
    field: '$.cancelAck.id'
    value: string
  }

  export interface StreamMessageCancelAckAttemptFieldEvent {
    field: '$.cancelAck.attempt'
    value: number
  }

  export function encode (obj: Partial<StreamMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, StreamMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StreamMessage>): StreamMessage {
    return decodeMessage(buf, StreamMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<StreamMessage>): Generator<StreamMessageVersionFieldEvent | StreamMessageOfferTaskVersionFieldEvent | StreamMessageOfferTaskNetworkFieldEvent | StreamMessageOfferTaskIdFieldEvent | StreamMessageOfferTaskTypeFieldEvent | StreamMessageOfferTaskPayloadFieldEvent | StreamMessageOfferTaskPayloadSizeFieldEvent | StreamMessageOfferTaskRequiresFieldEvent | StreamMessageOfferTaskSelectorFieldEvent | StreamMessageOfferTaskTimeoutMsFieldEvent | StreamMessageOfferTaskAttemptFieldEvent | StreamMessageOfferTaskMaxAttemptsFieldEvent | StreamMessageOfferTaskSubmitterFieldEvent | StreamMessageOfferTaskCreatedFieldEvent | StreamMessageAcceptIdFieldEvent | StreamMessageAcceptAttemptFieldEvent | StreamMessageRefuseIdFieldEvent | StreamMessageRefuseAttemptFieldEvent | StreamMessageRefuseReasonFieldEvent | StreamMessageClaimIdFieldEvent | StreamMessageClaimAttemptFieldEvent | StreamMessageClaimFreeSlotsFieldEvent | StreamMessageRejectIdFieldEvent | StreamMessageRejectAttemptFieldEvent | StreamMessageRenewIdsFieldEvent | StreamMessageRenewAttemptsFieldEvent | StreamMessageResultIdFieldEvent | StreamMessageResultAttemptFieldEvent | StreamMessageResultOkFieldEvent | StreamMessageResultOutputFieldEvent | StreamMessageResultErrorFieldEvent | StreamMessageResultCodeFieldEvent | StreamMessageResultDurationMsFieldEvent | StreamMessageAckIdFieldEvent | StreamMessageAckAttemptFieldEvent | StreamMessageAckDuplicateFieldEvent | StreamMessageAckReceiptIdFieldEvent | StreamMessageAckReceiptAttemptFieldEvent | StreamMessageAckReceiptWorkerFieldEvent | StreamMessageAckReceiptSubmitterFieldEvent | StreamMessageAckReceiptCreditsFieldEvent | StreamMessageAckReceiptDurationMsFieldEvent | StreamMessageAckReceiptTimestampFieldEvent | StreamMessageAckReceiptSignatureFieldEvent | StreamMessageAckReceiptEntriesIdFieldEvent | StreamMessageAckReceiptEntriesAttemptFieldEvent | StreamMessageAckReceiptEntriesCreditsFieldEvent | StreamMessageAckReceiptEntriesDurationMsFieldEvent | StreamMessageCancelIdFieldEvent | StreamMessageCancelAttemptFieldEvent | StreamMessageCancelAckIdFieldEvent | StreamMessageCancelAckAttemptFieldEvent> {
    return streamMessage(buf, StreamMessage.codec(), opts)
  }
}
