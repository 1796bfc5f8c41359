/**
 * Drives the `outpost` CLI and daemon as separate processes, the way users and scripts do,
 * optionally inside a network namespace (see netns.ts). Every process started here is
 * tracked and killed, by its pid, by `killAll` (call it from `after`) or at process exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI_MAIN } from '../../node/lab/cluster-netns.js'
import { exitOnSignals } from './netns.js'

/** The repository root (this file runs from dist/test/helpers/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** The built CLI as users run it (the lab's node processes run the same file). */
export { CLI_MAIN }

export interface ProcessOptions {
  /** run inside this network namespace (`ip netns exec NS ...`); needs root */
  netns?: string
  /** extra environment variables */
  env?: NodeJS.ProcessEnv
}

export interface CliOptions extends ProcessOptions {
  dataDir: string
  /** add --json and parse stdout (default true) */
  json?: boolean
  /** kill the command after this long (default 30 s) */
  timeoutMs?: number
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON, when --json was given and it parses */
  json: unknown
}

export interface ReadyLine {
  ready: true
  peerId: string
  name?: string
  addrs: string[]
  api: string
  /** opens the UI signed in (a one-time code) */
  ui: string
}

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

/** Processes started by this module and not yet exited, by pid. */
const live = new Map<number, ChildProcess>()
let exitHookInstalled = false

function track (proc: ChildProcess): void {
  if (proc.pid == null) return
  const pid = proc.pid
  live.set(pid, proc)
  proc.once('exit', () => { live.delete(pid) })
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const pid of live.keys()) { try { process.kill(pid, 'SIGKILL') } catch {} }
    })
    exitOnSignals()
  }
}

/** Spawns `cmd args` (in a namespace if asked) and tracks it for `killAll`. */
export function spawnTracked (cmd: string, args: string[], options: ProcessOptions & { cwd?: string } = {}): ChildProcess {
  const [c, a] = options.netns != null ? ['ip', ['netns', 'exec', options.netns, cmd, ...args]] : [cmd, args]
  const proc = spawn(c, a, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  track(proc)
  return proc
}

/** Resolves when `proc` has exited (at once if it already has). */
export async function exited (proc: ChildProcess): Promise<ExitStatus> {
  if (proc.exitCode != null || proc.signalCode != null) return { code: proc.exitCode, signal: proc.signalCode }
  return await new Promise(resolve => proc.once('exit', (code, signal) => { resolve({ code, signal }) }))
}

/** Calls `onLine` for every complete line `proc` writes on stdout. */
export function onStdoutLines (proc: ChildProcess, onLine: (line: string) => void): void {
  let buffered = ''
  proc.stdout?.setEncoding('utf8')
  proc.stdout?.on('data', (chunk: string) => {
    buffered += chunk
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      onLine(line)
    }
  })
}

/** Runs one `outpost` command to completion: `outpost ARGS --data DIR [--json]`. */
export async function runCli (args: string[], options: CliOptions): Promise<CliResult> {
  const json = options.json ?? true
  const proc = spawnTracked(process.execPath, [CLI_MAIN, ...args, '--data', options.dataDir, ...(json ? ['--json'] : [])], options)
  let stdout = ''
  let stderr = ''
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const timeoutMs = options.timeoutMs ?? 30_000
  const timer = setTimeout(() => {
    stderr += `\n[test] killed after ${timeoutMs} ms\n`
    proc.kill('SIGKILL')
  }, timeoutMs)
  const closed = new Promise<void>(resolve => proc.once('close', () => { resolve() }))
  const status = await exited(proc)
  await closed
  clearTimeout(timer)
  let parsed: unknown
  if (json) {
    try { parsed = JSON.parse(stdout) } catch { parsed = undefined }
  }
  return { code: status.code, stdout, stderr, json: parsed }
}

export interface DaemonOptions extends ProcessOptions {
  dataDir: string
  /** arguments after `start` (--listen, --api, ...) */
  args?: string[]
  /** the daemon's stderr (logs) is appended here as well as kept in memory */
  logFile?: string
  /** fail if the ready line has not come after this long (default 30 s) */
  readyTimeoutMs?: number
}

export interface Daemon {
  proc: ChildProcess
  pid: number
  ready: ReadyLine
  /** resolves when the process has exited */
  exited: Promise<ExitStatus>
  /** the last part of what the daemon wrote on stderr */
  logTail: () => string
  /** SIGTERM (clean stop), then SIGKILL if it has not exited after `graceMs` */
  stop: (graceMs?: number) => Promise<ExitStatus>
  /** SIGKILL now, as `kill -9` does; resolves once it is gone */
  kill9: () => Promise<ExitStatus>
  alive: () => boolean
}

const LOG_TAIL_CHARS = 64 * 1024

/** Starts `outpost start --data DIR --json ARGS` and waits for its JSON ready line. */
export async function startDaemon (options: DaemonOptions): Promise<Daemon> {
  const proc = spawnTracked(process.execPath, [CLI_MAIN, 'start', '--data', options.dataDir, '--json', ...(options.args ?? [])], options)
  if (proc.pid == null) throw new Error('could not spawn the node process')
  const pid = proc.pid
  let tail = ''
  let log: WriteStream | null = null
  if (options.logFile != null) log = createWriteStream(options.logFile, { flags: 'a' })
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
    tail = (tail + s).slice(-LOG_TAIL_CHARS)
    log?.write(s)
  })
  const exitedP = exited(proc).then(status => { log?.end(); return status })
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`node in ${options.netns ?? 'root namespace'} (${options.dataDir}) not ready after ${readyTimeoutMs} ms; stderr:\n${tail}`)) }, readyTimeoutMs)
    onStdoutLines(proc, line => {
      let value: unknown
      try { value = JSON.parse(line) } catch { return }
      if ((value as ReadyLine)?.ready === true) { clearTimeout(timer); resolve(value as ReadyLine) }
    })
    exitedP.then(status => {
      clearTimeout(timer)
      reject(new Error(`node in ${options.netns ?? 'root namespace'} (${options.dataDir}) exited (code ${status.code}, signal ${status.signal}) before it was ready; stderr:\n${tail}`))
    }, () => {})
  }).catch(async err => {
    if (proc.exitCode == null && proc.signalCode == null) proc.kill('SIGKILL')
    await exitedP
    throw err
  })
  const alive = (): boolean => proc.exitCode == null && proc.signalCode == null
  return {
    proc,
    pid,
    ready,
    exited: exitedP,
    logTail: () => tail,
    alive,
    stop: async (graceMs = 5_000) => {
      if (alive()) proc.kill('SIGTERM')
      const timer = setTimeout(() => { if (alive()) proc.kill('SIGKILL') }, graceMs)
      const status = await exitedP
      clearTimeout(timer)
      return status
    },
    kill9: async () => {
      if (alive()) process.kill(pid, 'SIGKILL')
      return await exitedP
    }
  }
}

/** Kills every process this module started that is still running (SIGKILL, by pid). */
export async function killAll (): Promise<void> {
  const procs = [...live.values()]
  for (const proc of procs) {
    if (proc.pid != null && proc.exitCode == null && proc.signalCode == null) {
      try { process.kill(proc.pid, 'SIGKILL') } catch {}
    }
  }
  await Promise.all(procs.map(async p => await exited(p)))
}
