import type { DataDir } from '../data-dir.js'
import { InvalidRequestError } from '../errors.js'
import { ApiClient } from './client.js'

// `init` and `start` load libp2p and LevelDB; the other commands only talk HTTP, so they
// import those lazily and answer in a fraction of the time.

export interface CommandInput {
  args: string[]
  values: Record<string, string | boolean | string[] | undefined>
  dataDir: DataDir
}

/** What a command prints: `json` with --json, `text` otherwise (null: nothing). */
export interface CommandOutput {
  json: unknown
  text: string | null
}

export interface Command {
  usage: string
  summary: string
  /** option names this command accepts besides --data, --json and --help */
  options: string[]
  /** number of positional arguments (at least, when maxArgs is set) */
  args: number
  /** the most positional arguments, when some are optional */
  maxArgs?: number
  run: (input: CommandInput) => Promise<CommandOutput | null>
  /** exit as soon as `run` resolves, without waiting for stray timers */
  exitWhenDone?: boolean
}

export const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined

export function intOption (value: unknown, name: string): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidRequestError(`--${name} takes a non-negative whole number`)
  return n
}

export async function api (dataDir: DataDir): Promise<ApiClient> {
  return await ApiClient.forDataDir(dataDir)
}

export const enc = encodeURIComponent

export function time (ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
}


/** "90s", "30m", "12h", "7d" (or plain seconds) in milliseconds. */
export function durationMs (text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim())
  if (m == null) throw new InvalidRequestError(`'${text}' is not a duration; write it like 90s, 30m, 12h or 7d`)
  const unit = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as '' | 's' | 'm' | 'h' | 'd']
  const ms = Number(m[1]) * unit
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new InvalidRequestError(`'${text}' is not a usable duration`)
  return ms
}

/** "500MB", "4GiB", "1.5GB" or plain bytes, in bytes (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024). */
export function sizeOption (value: unknown, name: string): number | undefined {
  const text = str(value)
  if (text == null) return undefined
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$/i.exec(text.trim())
  const unit = (m?.[2] ?? 'b').toLowerCase().replace(/b$/, '')
  const scale: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3, ti: 1024 ** 4 }
  const bytes = m == null || scale[unit] == null ? NaN : Math.floor(Number(m[1]) * scale[unit])
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidRequestError(`--${name} takes a size like 500MB, 4GiB or a number of bytes; got '${text}'`)
  return bytes
}
