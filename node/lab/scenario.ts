/**
 * Lab scenarios: what testers write (YAML or JSON) and what the lab runs. Parsing is strict:
 * an unknown field, node or unit is an error naming where it is, so a typo never silently
 * turns into a scenario that tests less than its author meant.
 */
import { parse as parseYaml } from 'yaml'
import { DEFAULT_SYNC_INTERVAL_MS } from '../constants.js'
import { InvalidRequestError } from '../errors.js'
import { randomSchedule, type RandomFaults } from './random-schedule.js'

export type LabEvent =
  | { atMs: number, kind: 'partition', sides: string[][] }
  | { atMs: number, kind: 'heal' }
  | { atMs: number, kind: 'kill' | 'restart' | 'pause' | 'resume', nodes: string[] }
  /** bandwidth of each node's link(s), both ways; null lifts the limit */
  | { atMs: number, kind: 'limit', nodes: string[], bitsPerSecond: number | null }
  /** injected by the node itself on gossip it receives; zeros lift them */
  | { atMs: number, kind: 'faults', nodes: string[], delayMs: number, loss: number }

export interface LabLoad {
  /** messages per second over all sending nodes */
  rate: number
  /** bytes of text per message */
  size: number
  durationMs: number
  /** the nodes that send (default: all), in turn */
  senders: string[]
}

export interface Scenario {
  name: string
  seed: number
  /** n0, n1, ... */
  nodes: string[]
  /** each a bridge; a node on two is a bridge node */
  segments: string[][]
  load: LabLoad
  /** sorted by time; random faults already expanded */
  schedule: LabEvent[]
  check: { convergeWithinMs: number }
  /** the anti-entropy sync period of every node */
  syncIntervalMs: number
  /** test flags per node, to prove the checks catch a broken node */
  broken: Record<string, { noSync: boolean }>
}

const TOP_FIELDS = new Set(['name', 'seed', 'nodes', 'segments', 'load', 'schedule', 'random', 'check', 'sync_interval', 'broken', 'description'])
const EVENT_KINDS = ['partition', 'heal', 'isolate', 'kill', 'restart', 'pause', 'resume', 'limit', 'faults']

export class ScenarioError extends InvalidRequestError {
  static readonly SCENARIO_NAME = 'ScenarioError'
  override name = ScenarioError.SCENARIO_NAME
}

const fail = (where: string, what: string): never => { throw new ScenarioError(`scenario ${where}: ${what}`) }

/** "30s", "500ms", "2m", or a number of seconds. */
export function parseDuration (value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value * 1000)
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/.exec(value) : null
  if (m == null) return fail(where, `expected a duration such as 30s, 500ms or 2m; got ${JSON.stringify(value)}`)
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000)
}

/** "1mbit", "512kbit", "2gbit", "9600bit" (as tc writes them), in bits per second. */
export function parseBitRate (value: unknown, where: string): number {
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*$/i.exec(value) : null
  if (m == null) return fail(where, `expected a bandwidth such as 1mbit, 512kbit or 2gbit; got ${JSON.stringify(value)}`)
  const scale = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2].toLowerCase() as 'bit']
  const bits = Math.round(Number(m[1]) * scale)
  if (bits < 8000) fail(where, `a bandwidth under 8kbit cannot carry the lab's own control traffic; got ${value as string}`)
  return bits
}

function object (value: unknown, where: string): Record<string, unknown> {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) fail(where, `expected a mapping; got ${JSON.stringify(value)}`)
  return value as Record<string, unknown>
}

function onlyFields (value: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(where, `unknown field '${key}' (allowed: ${allowed.join(', ')})`)
}

function positive (value: unknown, where: string, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    fail(where, `expected a positive ${integer ? 'whole ' : ''}number; got ${JSON.stringify(value)}`)
  }
  return value as number
}

class NodeNames {
  constructor (readonly all: string[]) {}

  one (value: unknown, where: string): string {
    if (typeof value !== 'string' || !this.all.includes(value)) {
      fail(where, `unknown node ${JSON.stringify(value)} (the scenario has ${this.all[0]}..${this.all[this.all.length - 1]})`)
    }
    return value as string
  }

  list (value: unknown, where: string): string[] {
    const items = typeof value === 'string' ? [value] : value
    if (!Array.isArray(items) || items.length === 0) fail(where, `expected a list of nodes, e.g. [n0, n1]; got ${JSON.stringify(value)}`)
    const names = (items as unknown[]).map((v, i) => this.one(v, `${where}[${i}]`))
    if (new Set(names).size !== names.length) fail(where, 'a node is listed twice')
    return names
  }

  sides (value: unknown, where: string): string[][] {
    if (!Array.isArray(value) || value.length < 2) fail(where, `expected two or more lists of nodes, e.g. [[n0, n1], [n2]]; got ${JSON.stringify(value)}`)
    const sides = (value as unknown[]).map((side, i) => this.list(side, `${where}[${i}]`))
    const seen = new Set<string>()
    for (const n of sides.flat()) {
      if (seen.has(n)) fail(where, `node ${n} is on two sides`)
      seen.add(n)
    }
    return sides
  }
}

function parseEvent (raw: unknown, names: NodeNames, where: string): LabEvent {
  const value = object(raw, where)
  const atMs = parseDuration(value.at, `${where}.at`)
  const kinds = Object.keys(value).filter(k => k !== 'at')
  if (kinds.length !== 1 || !EVENT_KINDS.includes(kinds[0])) {
    return fail(where, `expected 'at' and one of ${EVENT_KINDS.join(', ')}; got ${kinds.join(', ') || 'nothing'}`)
  }
  const kind = kinds[0]
  const arg = value[kind]
  const at = `${where}.${kind}`
  switch (kind) {
    case 'partition': return { atMs, kind, sides: names.sides(arg, at) }
    case 'isolate': {
      // Minority isolation, the common case, without listing everyone else.
      const alone = names.list(arg, at)
      const rest = names.all.filter(n => !alone.includes(n))
      if (rest.length === 0) fail(at, 'isolating every node leaves nobody on the other side')
      return { atMs, kind: 'partition', sides: [alone, rest] }
    }
    case 'heal':
      if (arg !== true) fail(at, 'write heal: true')
      return { atMs, kind }
    case 'kill': case 'restart': case 'pause': case 'resume':
      return { atMs, kind, nodes: names.list(arg, at) }
    case 'limit': {
      const limit = object(arg, at)
      onlyFields(limit, ['nodes', 'rate'], at)
      const bitsPerSecond = limit.rate === 'none' || limit.rate === null ? null : parseBitRate(limit.rate, `${at}.rate`)
      return { atMs, kind, nodes: names.list(limit.nodes, `${at}.nodes`), bitsPerSecond }
    }
    default: {
      const faults = object(arg, at)
      onlyFields(faults, ['nodes', 'delay', 'loss'], at)
      const loss = faults.loss ?? 0
      if (typeof loss !== 'number' || loss < 0 || loss >= 1) fail(`${at}.loss`, `expected a fraction from 0 to below 1; got ${JSON.stringify(loss)}`)
      return { atMs, kind: 'faults', nodes: names.list(faults.nodes, `${at}.nodes`), delayMs: parseDuration(faults.delay ?? 0, `${at}.delay`), loss: loss as number }
    }
  }
}

/** Parses and checks a scenario written in YAML (JSON is YAML too). */
export function parseScenario (text: string, fallbackName = 'scenario'): Scenario {
  let raw: unknown
  try {
    raw = parseYaml(text)
  } catch (err) {
    return fail('file', `not valid YAML or JSON: ${(err as Error).message}`)
  }
  const top = object(raw, 'file')
  for (const key of Object.keys(top)) if (!TOP_FIELDS.has(key)) fail('file', `unknown field '${key}' (allowed: ${[...TOP_FIELDS].join(', ')})`)

  const count = positive(top.nodes, 'nodes', true)
  if (count < 2 || count > 64) fail('nodes', `the lab runs 2 to 64 nodes; got ${count}`)
  const names = new NodeNames(Array.from({ length: count }, (_, i) => `n${i}`))

  const segments = top.segments == null ? [names.all] : (Array.isArray(top.segments) ? top.segments : fail('segments', 'expected a list of lists of nodes')).map((s, i) => names.list(s, `segments[${i}]`))
  const homeless = names.all.filter(n => !segments.some(s => s.includes(n)))
  if (homeless.length > 0) fail('segments', `${homeless.join(', ')} ${homeless.length === 1 ? 'is' : 'are'} on no segment`)
  if (segments.length > 8) fail('segments', 'at most 8 segments')

  const load = object(top.load ?? {}, 'load')
  onlyFields(load, ['rate', 'size', 'duration', 'senders'], 'load')
  const size = positive(load.size ?? 200, 'load.size', true)
  if (size < 24 || size > 16_000) fail('load.size', `messages of 24 to 16000 bytes (the lab tags each one); got ${size}`)
  const parsedLoad: LabLoad = {
    rate: positive(load.rate ?? 10, 'load.rate'),
    size,
    durationMs: parseDuration(load.duration ?? '20s', 'load.duration'),
    senders: load.senders == null ? names.all : names.list(load.senders, 'load.senders')
  }
  if (parsedLoad.rate > 5000) fail('load.rate', 'at most 5000 messages per second')

  const seed = top.seed ?? 1
  if (typeof seed !== 'number' || !Number.isInteger(seed)) fail('seed', `expected a whole number; got ${JSON.stringify(seed)}`)

  const scheduleRaw = top.schedule ?? []
  if (!Array.isArray(scheduleRaw)) fail('schedule', 'expected a list of events')
  const schedule = (scheduleRaw as unknown[]).map((e, i) => parseEvent(e, names, `schedule[${i}]`))
  if (top.random != null) {
    const random = object(top.random, 'random')
    onlyFields(random, ['partitions', 'kills', 'pauses', 'from', 'until'], 'random')
    const counts: RandomFaults = {
      partitions: random.partitions == null ? 0 : positive(random.partitions, 'random.partitions', true),
      kills: random.kills == null ? 0 : positive(random.kills, 'random.kills', true),
      pauses: random.pauses == null ? 0 : positive(random.pauses, 'random.pauses', true),
      fromMs: parseDuration(random.from ?? Math.min(2, parsedLoad.durationMs / 10_000), 'random.from'),
      untilMs: parseDuration(random.until ?? parsedLoad.durationMs / 1000, 'random.until')
    }
    if (counts.untilMs <= counts.fromMs) fail('random', 'until must come after from')
    schedule.push(...randomSchedule(counts, names.all, seed as number))
  }
  schedule.sort((a, b) => a.atMs - b.atMs)
  checkStates(schedule)

  const check = object(top.check ?? {}, 'check')
  onlyFields(check, ['converge_within'], 'check')
  const brokenRaw = object(top.broken ?? {}, 'broken')
  const broken: Scenario['broken'] = {}
  for (const [node, flags] of Object.entries(brokenRaw)) {
    names.one(node, 'broken')
    const f = object(flags, `broken.${node}`)
    onlyFields(f, ['sync'], `broken.${node}`)
    if (f.sync !== false) fail(`broken.${node}.sync`, 'the only test flag is sync: false (the node runs no sync protocol)')
    broken[node] = { noSync: true }
  }
  if (top.name != null && typeof top.name !== 'string') fail('name', 'expected text')
  return {
    name: (top.name as string | undefined) ?? fallbackName,
    seed: seed as number,
    nodes: names.all,
    segments,
    load: parsedLoad,
    schedule,
    check: { convergeWithinMs: parseDuration(check.converge_within ?? '10s', 'check.converge_within') },
    // Nodes run as shipped unless the scenario says otherwise.
    syncIntervalMs: top.sync_interval == null ? DEFAULT_SYNC_INTERVAL_MS : parseDuration(top.sync_interval, 'sync_interval'),
    broken
  }
}

/** Kills before restarts, pauses before resumes: a schedule that does not is a mistake. */
function checkStates (schedule: LabEvent[]): void {
  const state = new Map<string, 'up' | 'killed' | 'paused'>()
  schedule.forEach((event, i) => {
    if (!('nodes' in event) || event.kind === 'limit' || event.kind === 'faults') return
    for (const n of event.nodes) {
      const now = state.get(n) ?? 'up'
      const [need, next] = { kill: ['up', 'killed'], restart: ['killed', 'up'], pause: ['up', 'paused'], resume: ['paused', 'up'] }[event.kind]
      if (now !== need) fail(`schedule (event ${i} at ${event.atMs} ms)`, `cannot ${event.kind} ${n}: it is ${now === 'up' ? 'running' : now} then`)
      state.set(n, next as 'up')
    }
  })
}
