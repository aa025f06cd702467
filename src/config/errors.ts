/** A config value that cannot be used. The message names the file, the key path and what was expected. */
export class ConfigError extends Error {
  static readonly code = 'ERR_CONFIG'
  readonly code = ConfigError.code
  constructor (
    readonly file: string,
    readonly path: string,
    readonly expected: string,
    readonly found?: string
  ) {
    super(`${file}: ${path === '' ? '(top level)' : path}: expected ${expected}${found != null ? `, found ${found}` : ''}`)
    this.name = 'ConfigError'
  }
}
