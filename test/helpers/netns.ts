/**
 * A small network lab for multi-process tests: N network namespaces, each with one veth
 * link to a bridge that lives in its own "switch" namespace, so that nothing is added to the
 * root namespace and no packet can leave the lab. Addresses are 10.77.0.x/24, which exist
 * only inside the lab. Needs root (CI runs tests as root); without it, `create` throws a
 * LabUnavailableError that says so, and the test fails rather than passing silently.
 *
 * A partition is made by taking a node's veth down on the switch side: `tc netem`,
 * iptables and nft are not available on these machines (see DESIGN.md).
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

export class LabUnavailableError extends Error {
  static readonly NAME = 'LabUnavailableError'
  override name = LabUnavailableError.NAME
}

export interface LabNode {
  /** namespace name */
  ns: string
  /** the node's address on the lab segment */
  ip: string
  /** interface name inside the node's namespace */
  dev: string
  /** the veth end on the switch (bridge) side */
  switchPort: string
}

export interface ExecResult {
  code: number
  stdout: string
  stderr: string
}

const SUBNET = '10.77.0'
const NODE_DEV = 'eth0'
const BRIDGE = 'br0'

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

  private constructor (readonly prefix: string, readonly size: number) {
    this.switchNs = `${prefix}-sw`
  }

  /**
   * Creates `size` node namespaces named `<prefix>-<i>` on one bridge. On any failure the
   * namespaces made so far are deleted and a LabUnavailableError explains what is missing.
   */
  static async create (size: number, prefix = `op${process.pid % 10000}`): Promise<Lab> {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new LabUnavailableError(`network-namespace tests need root (uid 0) to run 'ip netns add'; this process runs as uid ${process.getuid()}. Run the tests as root (CI does).`)
    }
    const lab = new Lab(prefix, size)
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
    await ip(['-n', this.switchNs, 'link', 'add', BRIDGE, 'type', 'bridge'])
    await ip(['-n', this.switchNs, 'link', 'set', BRIDGE, 'up'])
    for (let i = 0; i < this.size; i++) {
      const node: LabNode = { ns: `${this.prefix}-${i}`, ip: `${SUBNET}.${i + 1}`, dev: NODE_DEV, switchPort: `p${i}` }
      await this.addNamespace(node.ns)
      // Both ends are created directly in their namespaces: nothing appears in the root one.
      await ip(['-n', node.ns, 'link', 'add', NODE_DEV, 'type', 'veth', 'peer', 'name', node.switchPort, 'netns', this.switchNs])
      await ip(['-n', this.switchNs, 'link', 'set', node.switchPort, 'master', BRIDGE])
      await ip(['-n', this.switchNs, 'link', 'set', node.switchPort, 'up'])
      await ip(['-n', node.ns, 'link', 'set', 'lo', 'up'])
      await ip(['-n', node.ns, 'addr', 'add', `${node.ip}/24`, 'dev', NODE_DEV])
      await ip(['-n', node.ns, 'link', 'set', NODE_DEV, 'up'])
      // No default route in the namespace: multicast (mDNS) needs a route of its own.
      await ip(['-n', node.ns, 'route', 'add', '224.0.0.0/4', 'dev', NODE_DEV])
      this.nodes.push(node)
    }
  }

  /** Cuts node `i` off the segment (its veth goes down on the switch side). */
  async linkDown (i: number): Promise<void> {
    await ip(['-n', this.switchNs, 'link', 'set', this.node(i).switchPort, 'down'])
  }

  /** Puts node `i` back on the segment. */
  async linkUp (i: number): Promise<void> {
    await ip(['-n', this.switchNs, 'link', 'set', this.node(i).switchPort, 'up'])
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
