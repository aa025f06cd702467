/**
 * Wire formats at the edge: size-capped decoding of every message kind, semantic checks, and the
 * varint-length-prefixed framing of the task stream. Handlers above this see decoded objects only.
 */
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  CapabilityAdvertisement, HeartBeat, TaskRequest, TaskResponse, StreamMessage,
  type Offer, type Accept, type Refuse, type Claim, type Reject, type Renew, type Result, type Ack, type Cancel, type CancelAck
} from './generated/messages.ts'
import type { TopicKind } from './names.ts'

export { CapabilityAdvertisement, HeartBeat, TaskRequest, TaskResponse, StreamMessage, Receipt, ReceiptEntry } from './generated/messages.ts'
export type { Offer, Accept, Refuse, Claim, Reject, Renew, Result, Ack, Cancel, CancelAck } from './generated/messages.ts'

export const WIRE_VERSION = 1

/** Why a message was rejected: a closed set, used as a metric label. */
export type RejectReason = 'decode' | 'too_large' | 'wrong_network' | 'wrong_sender' | 'stale' | 'rate_limited' | 'invalid'

export class ProtocolError extends Error {
  readonly code = 'ERR_PROTOCOL'
  constructor (readonly reason: RejectReason, message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}

/** Gossip messages are small: who can do what and how busy. */
export const MAX_GOSSIP_BYTES: Record<TopicKind, number> = {
  capabilities: 16 * 1024,
  heartbeat: 1024,
  tasks: 64 * 1024,
  results: 2 * 1024
}

const LIMITS = {
  capabilities: 64,
  labels: 64,
  taskTypes: 128,
  addrs: 32,
  requires: 32,
  ids: 10_000
}
const MAX_STRING = 256

function checkString (field: string, s: string, max = MAX_STRING): void {
  if (s.length > max) throw new ProtocolError('invalid', `${field} longer than ${max}`)
}

function decodeWith<T> (name: string, bytes: Uint8Array, max: number, decode: () => T): T {
  if (bytes.byteLength > max) throw new ProtocolError('too_large', `${name} of ${bytes.byteLength} bytes exceeds ${max}`)
  try {
    return decode()
  } catch (err) {
    throw new ProtocolError('decode', `${name} does not decode: ${(err as Error).message}`)
  }
}

function checkEnvelope (name: string, msg: { version: number, network: string }, network: string): void {
  if (msg.network !== network) throw new ProtocolError('wrong_network', `${name} for network "${msg.network}"`)
  if (msg.version !== WIRE_VERSION) throw new ProtocolError('invalid', `${name} wire version ${msg.version}`)
}

export function decodeAdvertisement (bytes: Uint8Array, network: string): CapabilityAdvertisement {
  const msg = decodeWith('CapabilityAdvertisement', bytes, MAX_GOSSIP_BYTES.capabilities,
    () => CapabilityAdvertisement.decode(bytes, { limits: { capabilities: LIMITS.capabilities, labels: LIMITS.labels, taskTypes: LIMITS.taskTypes, addrs: LIMITS.addrs } }))
  checkEnvelope('CapabilityAdvertisement', msg, network)
  if (!['bootstrap', 'relay', 'worker'].includes(msg.role)) throw new ProtocolError('invalid', `unknown role "${msg.role}"`)
  for (const c of msg.capabilities) checkString('capability', c, 64)
  for (const t of msg.taskTypes) checkString('task type', t, 64)
  for (const [k, v] of msg.labels) { checkString('label key', k, 64); checkString('label value', v) }
  for (const a of msg.addrs) checkString('address', a, 512)
  if (msg.slots > 100_000) throw new ProtocolError('invalid', 'slots out of range')
  if (msg.prefetch > 100_000) throw new ProtocolError('invalid', 'prefetch out of range')
  return msg
}

export function decodeHeartbeat (bytes: Uint8Array, network: string): HeartBeat {
  const msg = decodeWith('HeartBeat', bytes, MAX_GOSSIP_BYTES.heartbeat, () => HeartBeat.decode(bytes))
  checkEnvelope('HeartBeat', msg, network)
  if (!Number.isFinite(msg.load) || msg.load < 0) throw new ProtocolError('invalid', 'load out of range')
  return msg
}

export function decodeTaskRequest (bytes: Uint8Array, network: string, maxBytes: number): TaskRequest {
  const msg = decodeWith('TaskRequest', bytes, maxBytes, () => TaskRequest.decode(bytes, { limits: { requires: LIMITS.requires } }))
  checkTaskRequest(msg, network)
  return msg
}

export function checkTaskRequest (msg: TaskRequest, network: string): void {
  checkEnvelope('TaskRequest', msg, network)
  checkString('task id', msg.id, 64)
  checkString('task type', msg.type, 64)
  checkString('selector', msg.selector, 1024)
  for (const r of msg.requires) checkString('requires', r, 64)
  if (msg.id === '' || msg.type === '') throw new ProtocolError('invalid', 'TaskRequest without id or type')
  if (msg.attempt < 1 || msg.attempt > msg.maxAttempts || msg.maxAttempts > 100) throw new ProtocolError('invalid', 'attempt out of range')
}

export function decodeTaskResponse (bytes: Uint8Array, network: string): TaskResponse {
  const msg = decodeWith('TaskResponse', bytes, MAX_GOSSIP_BYTES.results, () => TaskResponse.decode(bytes))
  checkEnvelope('TaskResponse', msg, network)
  checkString('task id', msg.id, 64)
  checkString('status', msg.status, 32)
  return msg
}

/** The closed set of direct-stream message kinds. */
export type StreamFrame =
  | { kind: 'offer', offer: Offer }
  | { kind: 'accept', accept: Accept }
  | { kind: 'refuse', refuse: Refuse }
  | { kind: 'claim', claim: Claim }
  | { kind: 'reject', reject: Reject }
  | { kind: 'renew', renew: Renew }
  | { kind: 'result', result: Result }
  | { kind: 'ack', ack: Ack }
  | { kind: 'cancel', cancel: Cancel }
  | { kind: 'cancelAck', cancelAck: CancelAck }

export type StreamKind = StreamFrame['kind']

export function encodeFrame (frame: StreamFrame): Uint8Array {
  const msg: StreamMessage = { version: WIRE_VERSION }
  switch (frame.kind) {
    case 'offer': msg.offer = frame.offer; break
    case 'accept': msg.accept = frame.accept; break
    case 'refuse': msg.refuse = frame.refuse; break
    case 'claim': msg.claim = frame.claim; break
    case 'reject': msg.reject = frame.reject; break
    case 'renew': msg.renew = frame.renew; break
    case 'result': msg.result = frame.result; break
    case 'ack': msg.ack = frame.ack; break
    case 'cancel': msg.cancel = frame.cancel; break
    case 'cancelAck': msg.cancelAck = frame.cancelAck; break
  }
  return StreamMessage.encode(msg)
}

/** Decodes one stream frame; exactly one kind must be set. */
export function decodeFrame (bytes: Uint8Array | Uint8ArrayList, network: string, maxBytes: number): StreamFrame {
  const flat = bytes instanceof Uint8Array ? bytes : bytes.subarray()
  const msg = decodeWith('StreamMessage', flat, maxBytes,
    () => StreamMessage.decode(flat, { limits: { offer: { task: { requires: LIMITS.requires } }, renew: { ids: LIMITS.ids, attempts: LIMITS.ids }, ack: { receipt: { entries: LIMITS.ids } } } }))
  if (msg.version !== WIRE_VERSION) throw new ProtocolError('invalid', `stream wire version ${msg.version}`)
  const set: StreamFrame[] = []
  if (msg.offer != null) {
    if (msg.offer.task == null) throw new ProtocolError('invalid', 'offer without task')
    checkTaskRequest(msg.offer.task, network)
    set.push({ kind: 'offer', offer: msg.offer })
  }
  if (msg.accept != null) set.push({ kind: 'accept', accept: msg.accept })
  if (msg.refuse != null) set.push({ kind: 'refuse', refuse: msg.refuse })
  if (msg.claim != null) set.push({ kind: 'claim', claim: msg.claim })
  if (msg.reject != null) set.push({ kind: 'reject', reject: msg.reject })
  if (msg.renew != null) {
    if (msg.renew.ids.length !== msg.renew.attempts.length) throw new ProtocolError('invalid', 'renew ids and attempts differ in length')
    set.push({ kind: 'renew', renew: msg.renew })
  }
  if (msg.result != null) set.push({ kind: 'result', result: msg.result })
  if (msg.ack != null) set.push({ kind: 'ack', ack: msg.ack })
  if (msg.cancel != null) set.push({ kind: 'cancel', cancel: msg.cancel })
  if (msg.cancelAck != null) set.push({ kind: 'cancelAck', cancelAck: msg.cancelAck })
  if (set.length !== 1) throw new ProtocolError('invalid', `stream frame with ${set.length} kinds set`)
  return set[0] as StreamFrame
}

/** varint length prefix + bytes */
export function frame (bytes: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(varint.encode(bytes.byteLength), bytes)
}
