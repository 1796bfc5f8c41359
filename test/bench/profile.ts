/**
 * Not part of `npm run bench`: a helper to see where an Outpost pair spends its CPU.
 * Starts two `outpost start` processes with --cpu-prof, drives either the latency pattern
 * (one message in flight), the throughput pattern (32 in flight) or one file transfer (A
 * takes a file of N MiB, B fetches it, as in files.ts), stops them cleanly and prints the
 * top self-time functions and a per-package breakdown of each profile.
 *
 *   node dist/test/bench/profile.js [--mode latency|throughput|files] [--count N]
 *   (files: N is the file's size in MiB, default 256)
 *   (profiles are kept in bench-results/profiles/sender and /receiver, one per thread)
 */
import '../../node/polyfill.js'
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ArrivalTracker, arrivals, type Pair } from './pairs.js'
import { Events, log, makeText, removeTempDirs, ROOT, startOutpost, table, waitUntil, type OutpostProc } from './lib.js'
import { pump } from './throughput.js'
import { fetchOnce, makeSourceFile, upload } from './files.js'

const { values } = parseArgs({ options: { mode: { type: 'string' }, count: { type: 'string' } } })
const mode = values.mode ?? 'latency'
const count = Math.min(Number(values.count ?? (mode === 'latency' ? 2_000 : mode === 'files' ? 256 : 10_000)), 50_000)
const dir = join(ROOT, 'bench-results/profiles')
await rm(dir, { recursive: true, force: true })
await mkdir(dir, { recursive: true })

/** CLOCK_MONOTONIC in µs: the clock of a profile's sample times, in every process. */
const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n)
/**
 * Each profile is summed over these windows, one table each (files: the transfer, then the
 * verification, and not the import before them); without any, over the whole run.
 */
const windows: Array<{ name: string, from: number, to: number }> = []

// A folder per process, not a fixed file name: a process's worker threads (signature checks)
// write profiles of their own, which would overwrite the main thread's.
const nodeArgs = (name: string): string[] => ['--cpu-prof', '--cpu-prof-dir', join(dir, name), '--cpu-prof-interval', '250']
const a: OutpostProc = await startOutpost({ nodeArgs: nodeArgs('sender') })
const b: OutpostProc = await startOutpost({ nodeArgs: nodeArgs('receiver') })
try {
  const { groupId, invite } = await a.api.call('POST', '/v1/groups', { name: 'profile' })
  await b.api.call('POST', '/v1/groups/join', { invite })
  const events = await Events.open(b.eventsUrl)
  const pair: Pair = {
    label: 'outpost',
    senderPid: a.pid,
    receiverPid: b.pid,
    send: async text => { await a.api.call('POST', `/v1/groups/${groupId as string}/messages`, { text }) },
    onArrival: arrivals(events, e => e.origin === 'remote'),
    stop: async () => {}
  }
  await new Promise(resolve => setTimeout(resolve, 1_500))
  if (mode === 'latency') {
    const tracker = new ArrivalTracker(pair)
    const deadline = Date.now() + 60_000
    for (let i = 0; i < count && Date.now() < deadline; i++) {
      const nonce = `p-${i}`
      await Promise.all([pair.send(makeText(nonce)), tracker.wait(nonce, 5_000)])
    }
    tracker.close()
  } else if (mode === 'files') {
    const bytes = Math.min(count, 4096) * 1024 * 1024
    const source = await makeSourceFile(bytes)
    const up = await upload(a, groupId, source, bytes, 120_000)
    await waitUntil('B to hold the message that names the file', async () => (await b.api.request('GET', `/v1/files/${up.fileId}`)).status === 200, 15_000, 10)
    const from = monotonicMicros()
    const r = await fetchOnce(b, events, up.fileId, 120_000)
    const held = from + r.heldMs * 1000
    windows.push({ name: 'transfer (fetch -> all chunks held)', from, to: held }, { name: 'verification (all chunks held -> complete)', from: held, to: from + r.completeMs * 1000 })
    const mbps = (ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(1)
    log(`import ${mbps(up.ms)} MB/s; fetch: all chunks held ${mbps(r.heldMs)} MB/s, complete ${mbps(r.completeMs)} MB/s`)
  } else {
    const r = await pump(pair, 'p', { count, concurrency: 32, maxSendMs: 20_000, maxDrainMs: 15_000 })
    log(`acked ${r.ackedPerSec}/s received ${r.receivedPerSec}/s cpu ${JSON.stringify(r.cpuSeconds)}`)
  }
  events.close()
} finally {
  a.api.close()
  b.api.close()
  await Promise.all([a.stop(15_000), b.stop(15_000)])
  await removeTempDirs()
}

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
for (const name of ['sender', 'receiver']) {
  for (const file of (await readdir(join(dir, name))).filter(f => f.endsWith('.cpuprofile')).sort()) {
    const profile = JSON.parse(await readFile(join(dir, name, file), 'utf8')) as { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number }
    // Node names them CPU.date.time.pid.thread.seq.cpuprofile; thread 0 is the main one.
    const thread = file.split('.')[4]
    const label = `${name}/${file} (${thread === '0' ? 'main thread' : `worker thread ${thread}`})`
    for (const w of windows.length > 0 ? windows : [{ name: 'whole run', from: -Infinity, to: Infinity }]) report(label, profile, w)
  }
}

function report (file: string, profile: { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number }, window: { name: string, from: number, to: number }): void {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const self = new Map<number, number>()
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0
    if (at < window.from || at > window.to) return
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const total = [...self.values()].reduce((x, y) => x + y, 0)
  const fns = new Map<string, number>()
  const pkgs = new Map<string, number>()
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame
    const where = f.url.replace(/^file:\/\//, '').replace(ROOT + '/', '')
    fns.set(`${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`, (fns.get(`${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`) ?? 0) + us)
    const pkg = where === '' ? f.functionName : /node_modules\/((@[^/]+\/)?[^/]+)/.exec(where)?.[1] ?? (where.startsWith('node:') ? where.split('/')[0].replace(/^node:internal.*/, 'node:internal') : where.startsWith('dist/') ? `outpost ${where.split('/').slice(1, 2).join('')}` : where)
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us)
  }
  const top = (m: Map<string, number>, n: number): string[][] => [...m].sort((x, y) => y[1] - x[1]).slice(0, n).map(([k, us]) => [(us / 1000).toFixed(1), (100 * us / total).toFixed(1) + '%', k])
  process.stdout.write(`\n== ${file}, ${window.name}: ${(total / 1e6).toFixed(2)} s sampled\n${table(['ms', 'share', 'package'], top(pkgs, 14))}\n\n${table(['ms', 'share', 'function'], top(fns, 25))}\n`)
}
