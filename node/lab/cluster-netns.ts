/**
 * Real `outpost start` processes, one per network namespace, on the bridges of the scenario's
 * segments. The lab drives them through each node's API on a Unix socket (reachable from
 * here whatever happens to the lab's links) and finds them faults with real tools: links
 * moved between bridges, SIGKILL, SIGSTOP, tc tbf.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DataDir } from '../data-dir.js'
import type { LabCluster, NodeUsage } from './cluster.js'
import { Lab } from './netns.js'
import { NodeClient } from './node-client.js'
import type { Scenario } from './scenario.js'

/**
 * The CLI as users run it: the bundle `npm run build` ends with (node/build/bundle.ts). The
 * same path from dist/node/lab/ and from the bundle itself; the tests and benchmarks use it too.
 */
export const CLI_MAIN = fileURLToPath(new URL('../bundled/outpost.js', import.meta.url))
const P2P_PORT = 4001
const READY_TIMEOUT_MS = 60_000
const LOG_TAIL_CHARS = 32 * 1024
/** Linux reports CPU time in clock ticks of 1/100 s on every architecture Node runs on. */
const TICKS_PER_SECOND = 100

interface RunningNode {
  proc: ChildProcess
  client: NodeClient
  exited: Promise<void>
}

/**
 * OUTPOST_LAB_NODE_ARGS: Node.js flags for every node the lab (or a benchmark) starts, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/p" to see where nodes spend their time (profiles are
 * written as they stop). NODE_OPTIONS refuses --cpu-prof.
 */
export function nodeArgsFromEnv (): string[] {
  return (process.env.OUTPOST_LAB_NODE_ARGS ?? '').split(' ').filter(a => a !== '')
}

/** Processes started here and not yet gone: killed by pid if the lab itself is stopped. */
const live = new Set<number>()
process.on('exit', () => { for (const pid of live) { try { process.kill(pid, 'SIGKILL') } catch {} } })

export class NetnsCluster implements LabCluster {
  readonly mode = 'namespaces'
  readonly limitsInNode = false
  private lab: Lab | null = null
  private readonly running = new Map<string, RunningNode>()
  private readonly tails = new Map<string, string>()

  constructor (private readonly scenario: Scenario, private readonly workDir: string) {}

  private index (node: string): number { return this.scenario.nodes.indexOf(node) }
  dataDir (node: string): string { return join(this.workDir, node) }

  async start (progress: (text: string) => void): Promise<void> {
    const { nodes, segments } = this.scenario
    progress(`building ${nodes.length} network namespaces on ${segments.length} segment(s)`)
    this.lab = await Lab.create(nodes.length, `olab${process.pid % 10000}`, segments.map(s => s.map(n => this.index(n))))
    for (const node of nodes) await this.init(node)
    let started = 0
    // A few at a time: every start costs a second of CPU, and the machine may have two cores.
    const queue = [...nodes]
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let node = queue.shift(); node != null; node = queue.shift()) {
        await this.spawnNode(node)
        progress(`started ${++started} of ${nodes.length} nodes`)
      }
    }))
  }

  private async init (node: string): Promise<void> {
    const proc = spawn(process.execPath, [CLI_MAIN, 'init', '--data', this.dataDir(node), '--name', node, '--json'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
    const code = await new Promise<number | null>(resolve => proc.once('exit', resolve))
    if (code !== 0) throw new Error(`outpost init for ${node} failed: ${stderr.trim()}`)
  }

  /** The node's static peers: everyone it shares a segment with, at their address there. */
  private peersOf (node: string): string[] {
    const lab = this.requireLab()
    const i = this.index(node)
    return lab.nodes.flatMap((other, j) => j === i
      ? []
      : other.links.filter(l => lab.node(i).links.some(mine => mine.segment === l.segment)).map(l => `/ip4/${l.ip}/tcp/${P2P_PORT}`))
  }

  private async spawnNode (node: string): Promise<void> {
    const lab = this.requireLab()
    const dir = this.dataDir(node)
    const socketPath = join(dir, 'api.sock')
    const args = [...nodeArgsFromEnv(), CLI_MAIN, 'start', '--data', dir, '--json', '--lab',
      '--listen', `/ip4/0.0.0.0/tcp/${P2P_PORT}`, '--api', '127.0.0.1:0', '--api-socket', socketPath,
      '--sync-interval', String(this.scenario.syncIntervalMs),
      ...this.peersOf(node).flatMap(p => ['--peer', p])]
    // `ip netns exec` execs the node in place: the pid is the node's own (signals reach it).
    const proc = spawn('ip', ['netns', 'exec', lab.node(this.index(node)).ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const pid = proc.pid
    if (pid == null) throw new Error(`could not start ${node}`)
    live.add(pid)
    const log = createWriteStream(`${dir}.log`, { flags: 'a' })
    proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
      this.tails.set(node, ((this.tails.get(node) ?? '') + s).slice(-LOG_TAIL_CHARS))
      log.write(s)
    })
    const exited = new Promise<void>(resolve => proc.once('exit', () => { live.delete(pid); log.end(); resolve() }))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${node} not ready after ${READY_TIMEOUT_MS} ms:\n${this.logTail(node)}`)) }, READY_TIMEOUT_MS)
      let out = ''
      proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
        out += s
        if (out.includes('"ready":true')) { clearTimeout(timer); resolve() }
      })
      void exited.then(() => { clearTimeout(timer); reject(new Error(`${node} exited before it was ready:\n${this.logTail(node)}`)) })
    })
    const token = await new DataDir(dir).readToken()
    if (token == null) throw new Error(`${node} has no API token in ${dir}`)
    this.running.get(node)?.client.close()
    this.running.set(node, { proc, client: new NodeClient({ socketPath }, token), exited })
  }

  private requireLab (): Lab {
    if (this.lab == null) throw new Error('the lab is not built yet')
    return this.lab
  }

  private require (node: string): RunningNode {
    const running = this.running.get(node)
    if (running == null) throw new Error(`${node} has not started`)
    return running
  }

  client (node: string): NodeClient { return this.require(node).client }

  async partition (sides: string[][]): Promise<void> {
    await this.requireLab().partition(sides.map(side => side.map(n => this.index(n))))
  }

  async heal (): Promise<void> { await this.requireLab().heal() }

  async kill (node: string): Promise<void> {
    const { proc, exited } = this.require(node)
    if (proc.pid != null) { try { process.kill(proc.pid, 'SIGKILL') } catch {} }
    await exited
  }

  async restart (node: string): Promise<void> { await this.spawnNode(node) }
  async pause (node: string): Promise<void> { this.signal(node, 'SIGSTOP') }
  async resume (node: string): Promise<void> { this.signal(node, 'SIGCONT') }

  private signal (node: string, signal: NodeJS.Signals): void {
    const pid = this.require(node).proc.pid
    if (pid != null) process.kill(pid, signal)
  }

  async limit (node: string, bitsPerSecond: number | null): Promise<void> {
    await this.requireLab().limit(this.index(node), bitsPerSecond)
  }

  async usage (node: string): Promise<NodeUsage | null> {
    const pid = this.running.get(node)?.proc.pid
    if (pid == null) return null
    try {
      // Fields after the command name (which may hold spaces) start at the state, field 3.
      const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
      return { cpuSeconds: (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND, rssBytes: rssKb * 1024 }
    } catch {
      return null
    }
  }

  logTail (node: string): string { return this.tails.get(node) ?? '' }

  async stop (): Promise<void> {
    await Promise.all([...this.running.values()].map(async ({ proc, exited, client }) => {
      client.close()
      if (proc.pid == null || proc.exitCode != null || proc.signalCode != null) return
      // A paused node must run again to hear SIGTERM.
      try { process.kill(proc.pid, 'SIGCONT'); process.kill(proc.pid, 'SIGTERM') } catch {}
      const timer = setTimeout(() => { try { if (proc.pid != null) process.kill(proc.pid, 'SIGKILL') } catch {} }, 5_000)
      await exited
      clearTimeout(timer)
    }))
    this.running.clear()
    await this.lab?.destroy()
    this.lab = null
  }
}
