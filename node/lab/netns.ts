/**
 * The network under the mesh lab and the multi-process tests: N network namespaces, each
 * with one veth link per segment to that segment's bridge. The bridges live in their own
 * "switch" namespace, so nothing is added to the root namespace and no packet can leave the
 * lab. Segment s uses 10.77.s.0/24 (node i is .i+1), addresses that exist only inside the
 * lab. Needs root; without it, `create` throws a LabUnavailableError that says so.
 *
 * `tc netem`, iptables and nft are not available on these machines (DESIGN.md): a node is
 * cut off by taking its veth down on the switch side, and a partition moves each node's
 * switch port onto a bridge of its side. Bandwidth is limited with `tc tbf`.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

export class LabUnavailableError extends Error {
  static readonly NAME = 'LabUnavailableError'
  override name = LabUnavailableError.NAME
}

export interface LabLink {
  segment: number
  /** the node's address on this segment */
  ip: string
  /** interface name inside the node's namespace */
  dev: string
  /** the veth end on the switch (bridge) side */
  switchPort: string
}

export interface LabNode extends LabLink {
  /** namespace name */
  ns: string
  /** one per segment the node is on; the first is also spread on the node itself */
  links: LabLink[]
}

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

const subnet = (segment: number): string => `10.77.${segment}`
const segmentBridge = (segment: number): string => `br${segment}`
const sideBridge = (segment: number, side: number): string => `br${segment}s${side}`

/** Labs alive in this process, cleaned up on exit even if a test forgot to. */
const liveLabs = new Set<Lab>()
let exitHookInstalled = false

async function ip (args: string[]): Promise<void> {
  try {
    await execFileP('ip', args)
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`)
  }
}

function namespaceExists (name: string): boolean {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n').some(line => line.split(' ')[0] === name)
  } catch {
    return false
  }
}

function namespacePids (name: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
      .split('\n').filter(Boolean).map(Number)
  } catch {
    return []
  }
}

export class Lab {
  readonly nodes: LabNode[] = []
  readonly switchNs: string
  /** every namespace this lab created (so far), deleted by `destroy` */
  private readonly created: string[] = []
  private destroyed = false

  /** side bridges made so far, by name */
  private readonly sideBridges = new Set<string>()

  private constructor (readonly prefix: string, readonly size: number, readonly segments: number[][]) {
    this.switchNs = `${prefix}-sw`
  }

  /**
   * Creates `size` node namespaces named `<prefix>-<i>`, on one bridge or on `segments`
   * (lists of node indexes; a node on two is a bridge node). On any failure the namespaces
   * made so far are deleted and a LabUnavailableError explains what is missing.
   */
  static async create (size: number, prefix = `op${process.pid % 10000}`, segments?: number[][]): Promise<Lab> {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new LabUnavailableError(`network-namespace tests need root (uid 0) to run 'ip netns add'; this process runs as uid ${process.getuid()}. Run the tests as root (CI does).`)
    }
    const lab = new Lab(prefix, size, segments ?? [Array.from({ length: size }, (_, i) => i)])
    liveLabs.add(lab)
    installExitHook()
    try {
      await lab.build()
    } catch (err) {
      lab.destroySync()
      if (err instanceof LabUnavailableError) throw err
      throw new LabUnavailableError(`could not build the network-namespace lab: ${(err as Error).message}`)
    }
    return lab
  }

  private async addNamespace (name: string): Promise<void> {
    if (namespaceExists(name)) {
      // Left behind by an earlier run of a process with the same pid that was killed hard.
      if (namespacePids(name).length > 0) {
        throw new LabUnavailableError(`network namespace ${name} already exists and has processes in it; another test run is using it`)
      }
      await ip(['netns', 'del', name])
    }
    try {
      await ip(['netns', 'add', name])
    } catch (err) {
      throw new LabUnavailableError(`'ip netns add ${name}' failed (root and network namespaces are required): ${(err as Error).message}`)
    }
    this.created.push(name)
  }

  private async build (): Promise<void> {
    await this.addNamespace(this.switchNs)
    await ip(['-n', this.switchNs, 'link', 'set', 'lo', 'up'])
    for (let s = 0; s < this.segments.length; s++) await this.addBridge(segmentBridge(s))
    for (let i = 0; i < this.size; i++) {
      const ns = `${this.prefix}-${i}`
      await this.addNamespace(ns)
      await ip(['-n', ns, 'link', 'set', 'lo', 'up'])
      const links: LabLink[] = []
      for (const [s, members] of this.segments.entries()) {
        if (!members.includes(i)) continue
        const link: LabLink = { segment: s, ip: `${subnet(s)}.${i + 1}`, dev: `eth${links.length}`, switchPort: `p${i}s${s}` }
        // Both ends are created directly in their namespaces: nothing appears in the root one.
        await ip(['-n', ns, 'link', 'add', link.dev, 'type', 'veth', 'peer', 'name', link.switchPort, 'netns', this.switchNs])
        await ip(['-n', this.switchNs, 'link', 'set', link.switchPort, 'master', segmentBridge(s)])
        await ip(['-n', this.switchNs, 'link', 'set', link.switchPort, 'up'])
        await ip(['-n', ns, 'addr', 'add', `${link.ip}/24`, 'dev', link.dev])
        await ip(['-n', ns, 'link', 'set', link.dev, 'up'])
        links.push(link)
      }
      if (links.length === 0) throw new Error(`node ${i} is on no segment`)
      // No default route in the namespace: multicast (mDNS) needs a route of its own. A
      // route names one device, so a bridge node announces itself on its first segment.
      await ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', links[0].dev])
      this.nodes.push({ ns, ...links[0], links })
    }
  }

  private async addBridge (name: string): Promise<void> {
    await ip(['-n', this.switchNs, 'link', 'add', name, 'type', 'bridge'])
    await ip(['-n', this.switchNs, 'link', 'set', name, 'up'])
  }

  /** Cuts node `i` off every segment it is on (its veths go down on the switch side). */
  async linkDown (i: number): Promise<void> {
    for (const link of this.node(i).links) await ip(['-n', this.switchNs, 'link', 'set', link.switchPort, 'down'])
  }

  /** Puts node `i` back on its segments. */
  async linkUp (i: number): Promise<void> {
    for (const link of this.node(i).links) await ip(['-n', this.switchNs, 'link', 'set', link.switchPort, 'up'])
  }

  /**
   * Splits every segment along `sides` (lists of node indexes): each side's ports move onto
   * a bridge of their own, so nodes on one side still reach each other and nobody across.
   * Nodes on no side stay on the segment's own bridge, together.
   */
  async partition (sides: number[][]): Promise<void> {
    for (const node of this.nodes) {
      const i = this.nodes.indexOf(node)
      const side = sides.findIndex(members => members.includes(i))
      for (const link of node.links) {
        let bridge = segmentBridge(link.segment)
        if (side >= 0) {
          bridge = sideBridge(link.segment, side)
          if (!this.sideBridges.has(bridge)) {
            await this.addBridge(bridge)
            this.sideBridges.add(bridge)
          }
        }
        await ip(['-n', this.switchNs, 'link', 'set', link.switchPort, 'master', bridge])
      }
    }
  }

  /** Every port back on its segment's bridge. */
  async heal (): Promise<void> {
    await this.partition([])
  }

  /**
   * Limits node `i`'s links to `bitsPerSecond` both ways (tbf on the switch port, towards the
   * node, and on the node's own device, from it); null lifts the limit.
   */
  async limit (i: number, bitsPerSecond: number | null): Promise<void> {
    const node = this.node(i)
    for (const link of node.links) {
      for (const [ns, dev] of [[this.switchNs, link.switchPort], [node.ns, link.dev]]) {
        if (bitsPerSecond == null) {
          await execFileP('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']).catch(() => {})
          continue
        }
        // A bucket of a fiftieth of a second, never below what one full-size frame needs.
        const burst = Math.max(16 * 1024, Math.round(bitsPerSecond / 8 / 50))
        try {
          await execFileP('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${bitsPerSecond}bit`, 'burst', String(burst), 'latency', '200ms'])
        } catch (err) {
          throw new Error(`could not limit ${dev} with tc tbf: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`)
        }
      }
    }
  }

  node (i: number): LabNode {
    const node = this.nodes[i]
    if (node == null) throw new RangeError(`the lab has no node ${i}`)
    return node
  }

  /** Command line that runs `cmd` inside node `i`'s namespace. */
  wrap (i: number, cmd: string, args: string[]): { cmd: string, args: string[] } {
    return { cmd: 'ip', args: ['netns', 'exec', this.node(i).ns, cmd, ...args] }
  }

  /** Runs a command inside node `i`'s namespace; never throws on a non-zero exit. */
  async exec (i: number, cmd: string, args: string[], options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const w = this.wrap(i, cmd, args)
    try {
      const { stdout, stderr } = await execFileP(w.cmd, w.args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 })
      return { code: 0, stdout, stderr }
    } catch (err) {
      const e = err as Error & { code?: number | string, stdout?: string, stderr?: string }
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message }
    }
  }

  /**
   * Spawns a process inside node `i`'s namespace. `ip netns exec` execs the command in
   * place, so the child's pid is the command's own pid (signals reach it directly).
   */
  spawn (i: number, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const w = this.wrap(i, cmd, args)
    return spawn(w.cmd, w.args, options)
  }

  /**
   * Deletes every namespace this lab created (deleting a namespace removes its veth ends
   * and the bridge with it). Tolerates a partly built lab and repeated calls.
   */
  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    liveLabs.delete(this)
    const failures: string[] = []
    for (const name of [...this.created].reverse()) {
      try {
        await ip(['netns', 'del', name])
      } catch (err) {
        if (namespaceExists(name)) failures.push((err as Error).message)
      }
    }
    this.created.length = 0
    if (failures.length > 0) throw new Error(`could not delete every lab namespace: ${failures.join('; ')}`)
  }

  /** Synchronous twin of `destroy`, for process exit. */
  destroySync (): void {
    if (this.destroyed) return
    this.destroyed = true
    liveLabs.delete(this)
    for (const name of [...this.created].reverse()) {
      try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch {}
    }
    this.created.length = 0
  }
}

function installExitHook (): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // `after` hooks normally clean up; this catches the rest, including a run stopped by a
  // signal (Ctrl-C, `timeout`), which would otherwise skip the 'exit' event.
  process.on('exit', () => { for (const lab of liveLabs) lab.destroySync() })
  exitOnSignals()
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const

/**
 * On SIGINT/SIGTERM/SIGHUP, exit through `process.exit` so that 'exit' hooks (lab and
 * process cleanup) run. Installed once per process, shared with cli.ts.
 */
export function exitOnSignals (): void {
  const flag = Symbol.for('outpost.test.exitOnSignals')
  const g = globalThis as Record<symbol, unknown>
  if (g[flag] === true) return
  g[flag] = true
  for (const [signal, n] of Object.entries(SIGNALS)) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up network namespaces and node processes\n`)
      process.exit(128 + n)
    })
  }
}
