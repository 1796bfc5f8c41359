/**
 * Shared helpers of the benchmarks: child processes (Outpost nodes and raw libp2p peers),
 * a keep-alive HTTP client, a WebSocket event client, statistics and result rows.
 * Every loop here is bounded in count and in time; every process started is tracked and
 * killed by its own pid, never by name.
 */
import '../../node/polyfill.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { CLI_MAIN, nodeArgsFromEnv } from '../../node/lab/cluster-netns.js'

const here = dirname(fileURLToPath(import.meta.url))
/** repository root (this file runs from dist/test/bench/) */
export const ROOT = resolve(here, '../../..')
export const RAW_PEER = join(here, 'raw-peer.js')
/** Only loopback, random ports: nothing leaves the machine. */
export const LOOPBACK = '/ip4/127.0.0.1/tcp/0'
/** 1 KB messages, as the issue asks. */
export const MESSAGE_BYTES = 1024

export const now = (): number => performance.now()
export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Polls `check` every `everyMs` until true; throws after `timeoutMs`. */
export async function waitUntil (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

export async function withTimeout<T> (what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms: ${what}`)) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}

const tempDirs: string[] = []
process.on('exit', () => {
  // Interrupted runs leave no data directories behind either (only those this run made).
  for (const dir of tempDirs) { try { rmSync(dir, { recursive: true, force: true }) } catch {} }
})
export async function tempDir (prefix = 'outpost-bench-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}
export async function removeTempDirs (): Promise<void> {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
}

/** A message text of exactly `bytes` bytes that starts with `nonce|` (used to correlate). */
export function makeText (nonce: string, bytes = MESSAGE_BYTES): string {
  const head = nonce + '|'
  const filler = 'lorem ipsum dolor sit amet, consectetur adipiscing elit; '
  return head + filler.repeat(Math.ceil(bytes / filler.length)).slice(0, bytes - head.length)
}
export function nonceOfText (text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined
  const bar = text.indexOf('|')
  return bar > 0 ? text.slice(0, bar) : undefined
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildProcess>()

function killChildrenNow (): void {
  for (const child of children) {
    if (child.exitCode == null && child.signalCode == null && child.pid != null) {
      try { process.kill(child.pid, 'SIGKILL') } catch {}
    }
  }
}
process.on('exit', killChildrenNow)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { killChildrenNow(); process.exit(130) })
}

/** Kill `proc` with the others if this run ends early. */
export function track (proc: ChildProcess): ChildProcess {
  children.add(proc)
  proc.once('exit', () => { children.delete(proc) })
  return proc
}

export interface Child {
  proc: ChildProcess
  pid: number
  /** performance.now() just before spawn */
  spawnedAt: number
  /** performance.now() when the ready line was read */
  readyAt: number
  ready: Record<string, unknown>
  stderr: () => string
  /** SIGTERM (clean stop), SIGKILL after `graceMs`; resolves with the ms it took to exit */
  stop: (graceMs?: number) => Promise<number>
}

/** Spawns `node ARGS`, resolves on the first JSON line with ready: true on stdout. */
export async function spawnReady (args: string[], timeoutMs = 20_000, nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const spawnedAt = now()
  const proc = spawn(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBUG: '', ...env } })
  children.add(proc)
  let err = ''
  proc.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000) })
  const exited = new Promise<void>(resolve => { proc.once('exit', () => { children.delete(proc); resolve() }) })
  const stop = async (graceMs = 5_000): Promise<number> => {
    const t = now()
    if (proc.exitCode == null && proc.signalCode == null && proc.pid != null) {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => { if (proc.exitCode == null && proc.signalCode == null) proc.kill('SIGKILL') }, graceMs)
      await exited
      clearTimeout(timer)
    }
    return now() - t
  }
  try {
    const ready = await withTimeout(`ready line of node ${args.slice(0, 2).join(' ')}`, new Promise<Record<string, unknown>>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! })
      lines.on('line', line => {
        try {
          const value = JSON.parse(line) as Record<string, unknown>
          if (value.ready === true) resolve(value)
        } catch {}
      })
      proc.once('exit', code => { reject(new Error(`process exited (${String(code)}) before ready: ${err.trim().split('\n').slice(-3).join(' | ')}`)) })
    }), timeoutMs)
    return { proc, pid: proc.pid!, spawnedAt, readyAt: now(), ready, stderr: () => err, stop }
  } catch (e) {
    await stop(1_000)
    throw e
  }
}

export interface OutpostProc extends Child {
  dataDir: string
  peerId: string
  addrs: string[]
  api: Api
  token: string
  eventsUrl: string
}

/**
 * `outpost start` on loopback, no mDNS, random ports, in a fresh (or given) data directory,
 * with the Node flags of OUTPOST_LAB_NODE_ARGS as the lab's nodes get them (to profile).
 */
export async function startOutpost (opts: { dataDir?: string, peers?: string[], extra?: string[], nodeArgs?: string[], env?: NodeJS.ProcessEnv } = {}): Promise<OutpostProc> {
  const dataDir = opts.dataDir ?? await tempDir('outpost-bench-node-')
  const args = [CLI_MAIN, 'start', '--data', dataDir, '--listen', LOOPBACK, '--api', '127.0.0.1:0', '--no-mdns']
  for (const p of opts.peers ?? []) args.push('--peer', p)
  args.push(...(opts.extra ?? []))
  const child = await spawnReady(args, 20_000, [...(opts.nodeArgs ?? []), ...nodeArgsFromEnv()], opts.env)
  const token = (await readFile(join(dataDir, 'api-token'), 'utf8')).trim()
  const url = String(child.ready.api)
  return {
    ...child,
    dataDir,
    peerId: String(child.ready.peerId),
    addrs: child.ready.addrs as string[],
    token,
    api: new Api(url, token),
    eventsUrl: `${url.replace(/^http/, 'ws')}/v1/events?token=${token}`
  }
}

export interface RawProc extends Child {
  peerId: string
  addrs: string[]
  api: Api
  eventsUrl: string
}

/** A bare libp2p host (the project's createHost) with a tiny HTTP + WebSocket front, see raw-peer.ts. */
export async function startRaw (opts: { topic: string, dial?: string | string[], sign?: boolean }): Promise<RawProc> {
  const args = [RAW_PEER, '--topic', opts.topic]
  for (const addr of [opts.dial ?? []].flat()) args.push('--dial', addr)
  if (opts.sign === true) args.push('--sign')
  const child = await spawnReady(args)
  const url = String(child.ready.http)
  return {
    ...child,
    peerId: String(child.ready.peerId),
    addrs: child.ready.addrs as string[],
    api: new Api(url),
    eventsUrl: `${url.replace(/^http/, 'ws')}/events`
  }
}

// ---------------------------------------------------------------- /proc

/** Resident set size of a process in MB (VmRSS), and its peak (VmHWM). */
export function memoryOf (pid: number): { rssMB: number, hwmMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf (pid: number): number {
  const { user, system } = cpuTimesOf(pid)
  return user + system
}

/** CPU seconds of a process so far, in user space and in the kernel (for it). */
export function cpuTimesOf (pid: number): { user: number, system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[11] = utime, fields[12] = stime (1-based 14, 15), in clock ticks of 1/100 s
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
export function machineJiffies (): { busy: number, total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const total = cpu.reduce((a, b) => a + b, 0)
  const idle = cpu[3] + (cpu[4] ?? 0)
  return { busy: total - idle, total }
}

/** Fraction (0..1) of all CPUs busy over the next `ms`. */
export async function machineBusy (ms = 1_000): Promise<number> {
  const a = machineJiffies()
  await sleep(ms)
  const b = machineJiffies()
  return (b.busy - a.busy) / Math.max(1, b.total - a.total)
}

/**
 * Other work on this 2-core machine (builds, test suites) skews every number here. Waits
 * (at most `maxMs`) for a one-second window with the machine under `threshold` busy;
 * returns what it saw so that the report can say how quiet the machine was.
 */
export async function waitForQuiet (maxMs = 20_000, threshold = 0.2): Promise<{ busy: number, waitedMs: number }> {
  const t = Date.now()
  let busy = await machineBusy()
  if (busy > threshold) log(`machine ${(busy * 100).toFixed(0)}% busy with other work; waiting up to ${maxMs / 1000} s for it to quieten`)
  while (busy > threshold && Date.now() - t < maxMs) busy = await machineBusy()
  if (Date.now() - t > 1_500) log(`machine ${(busy * 100).toFixed(0)}% busy after waiting ${((Date.now() - t) / 1000).toFixed(0)} s; going on`)
  return { busy: round(busy, 2), waitedMs: Date.now() - t }
}

// ---------------------------------------------------------------- HTTP and WebSocket clients

export class Api {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  private readonly url: URL

  constructor (base: string, private readonly token?: string) {
    this.url = new URL(base)
  }

  async request<T = any>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<{ status: number, body: T }> {
    try {
      return await this.once<T>(method, path, body, timeoutMs)
    } catch (err) {
      // The node closed an idle kept-alive connection just as this request went out on it
      // (seen after long joins): it never reached the node, so it is safe to send again.
      if ((err as { reusedSocket?: boolean }).reusedSocket !== true) throw err
      return await this.once<T>(method, path, body, timeoutMs)
    }
  }

  private async once<T> (method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<{ status: number, body: T }> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return await new Promise((resolve, reject) => {
      const req = http.request({
        agent: this.agent,
        host: this.url.hostname,
        port: this.url.port,
        path,
        method,
        timeout: timeoutMs,
        headers: {
          ...(this.token != null ? { authorization: `Bearer ${this.token}` } : {}),
          ...(data != null ? { 'content-type': 'application/json', 'content-length': data.length } : {})
        }
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown = text
          try { json = JSON.parse(text) } catch {}
          resolve({ status: res.statusCode ?? 0, body: json as T })
        })
        res.on('error', reject)
      })
      req.on('timeout', () => { req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)) })
      req.on('error', err => {
        reject(Object.assign(err, { reusedSocket: req.reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET' }))
      })
      req.end(data)
    })
  }

  /** Like request, but throws unless the status is 2xx. */
  async call<T = any>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.request<T>(method, path, body)
    if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`)
    return res.body
  }

  close (): void { this.agent.destroy() }
}

export type EventHandler = (event: any, at: number) => void

/** A WebSocket event stream; every event is handed over with its arrival time (performance.now()). */
export class Events {
  private readonly handlers = new Set<EventHandler>()
  private constructor (private readonly ws: WebSocket) {
    ws.on('message', data => {
      const at = now()
      let event: unknown
      try { event = JSON.parse(data.toString()) } catch { return }
      for (const h of this.handlers) h(event, at)
    })
    ws.on('error', () => {})
  }

  static async open (url: string): Promise<Events> {
    const ws = new WebSocket(url)
    await withTimeout(`WebSocket ${url.replace(/token=.*/, 'token=…')}`, new Promise<void>((resolve, reject) => {
      ws.once('open', () => { resolve() })
      ws.once('error', reject)
    }), 10_000)
    return new Events(ws)
  }

  on (handler: EventHandler): () => void {
    this.handlers.add(handler)
    return () => { this.handlers.delete(handler) }
  }

  close (): void { this.ws.terminate() }
}

// ---------------------------------------------------------------- statistics

export interface Summary { n: number, mean: number, p50: number, p90: number, p95: number, p99: number, max: number, min: number }

/** Nearest-rank percentiles. */
export function summarize (values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b)
  const n = s.length
  const at = (p: number): number => n === 0 ? NaN : s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]
  return { n, mean: n === 0 ? NaN : s.reduce((a, b) => a + b, 0) / n, p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: n === 0 ? NaN : s[n - 1], min: n === 0 ? NaN : s[0] }
}

export function median (values: number[]): number { return summarize(values).p50 }

export const round = (x: number, digits = 3): number => Number.isFinite(x) ? Number(x.toFixed(digits)) : x

// ---------------------------------------------------------------- result rows

export interface Target {
  /** 'max': value must be at most `value`; 'min': at least */
  kind: 'max' | 'min'
  value: number
}

export interface Row {
  metric: string
  value: number
  unit: string
  /** absolute target */
  target?: Target
  /** the same-run baseline the ratio is taken against */
  baseline?: { value: number, label: string }
  /** value / baseline */
  ratio?: number
  /** target on the ratio (e.g. at most 1.5 times raw gossipsub) */
  ratioTarget?: Target
  pass?: boolean
  /** why, when missed: by how much */
  miss?: string
}

function meets (value: number, t: Target): boolean { return t.kind === 'max' ? value <= t.value : value >= t.value }

/** Fills ratio, pass and the "missed by" text of a row. */
export function row (r: Omit<Row, 'ratio' | 'pass' | 'miss'>): Row {
  const out: Row = { ...r }
  if (r.baseline != null && r.baseline.value !== 0) out.ratio = r.value / r.baseline.value
  const misses: string[] = []
  if (r.target != null || r.ratioTarget != null) {
    out.pass = true
    if (r.target != null && !(Number.isFinite(r.value) && meets(r.value, r.target))) {
      out.pass = false
      const by = r.target.kind === 'max' ? r.value - r.target.value : r.target.value - r.value
      misses.push(`${r.target.kind === 'max' ? 'over' : 'under'} target by ${fmt(by)} ${r.unit} (${fmt(r.value / r.target.value)}x of target)`)
    }
    if (r.ratioTarget != null && out.ratio != null && !meets(out.ratio, r.ratioTarget)) {
      out.pass = false
      misses.push(`ratio ${fmt(out.ratio)}x vs ${r.ratioTarget.kind === 'max' ? '≤' : '≥'} ${r.ratioTarget.value}x`)
    }
  }
  if (misses.length > 0) out.miss = misses.join('; ')
  return out
}

export function fmt (x: number | undefined): string {
  if (x == null || !Number.isFinite(x)) return String(x ?? '')
  const a = Math.abs(x)
  if (a >= 1000) return x.toFixed(0)
  if (a >= 100) return x.toFixed(1)
  if (a >= 10) return x.toFixed(2)
  return x.toFixed(3)
}

export function targetText (r: Row): string {
  const parts: string[] = []
  if (r.target != null) parts.push(`${r.target.kind === 'max' ? '≤' : '≥'} ${r.target.value} ${r.unit}`)
  if (r.ratioTarget != null) parts.push(`${r.ratioTarget.kind === 'max' ? '≤' : '≥'} ${r.ratioTarget.value}x base`)
  return parts.join(', ')
}

/** A plain-text table. */
export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export interface BenchResult {
  name: string
  rows: Row[]
  /** everything else measured, for the JSON file */
  details: Record<string, unknown>
}

export function log (...parts: unknown[]): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${parts.map(p => typeof p === 'string' ? p : JSON.stringify(p)).join(' ')}\n`)
}
