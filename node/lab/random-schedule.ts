/**
 * Seeded random fault schedules: the same seed gives the same events, so a failed soak run
 * replays exactly. Faults take turns (one at a time, each in its own slot of the window) so
 * that every heal has a convergence time of its own to report.
 */
import { seededRandom } from '../seeded-random.js'
import type { LabEvent } from './scenario.js'

export interface RandomFaults {
  partitions: number
  kills: number
  pauses: number
  fromMs: number
  untilMs: number
}

/** Fisher-Yates, in place, with the seeded generator. */
function shuffle<T> (items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]]
  }
  return items
}

export function randomSchedule (faults: RandomFaults, nodes: string[], seed: number): LabEvent[] {
  const random = seededRandom(seed)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]
  const kinds: Array<'partition' | 'kill' | 'pause'> = [
    ...Array<'partition'>(faults.partitions).fill('partition'),
    ...Array<'kill'>(faults.kills).fill('kill'),
    ...Array<'pause'>(faults.pauses).fill('pause')
  ]
  shuffle(kinds, random)
  const slotMs = (faults.untilMs - faults.fromMs) / Math.max(1, kinds.length)
  const events: LabEvent[] = []
  kinds.forEach((kind, i) => {
    const slotStart = faults.fromMs + i * slotMs
    // The fault lasts 40 to 70% of its slot and starts in its first fifth: the rest of the
    // slot is for the mesh to recover before the next one.
    const start = Math.round(slotStart + random() * slotMs * 0.2)
    const end = Math.round(start + slotMs * (0.4 + random() * 0.3))
    if (kind === 'partition') {
      const shuffled = shuffle([...nodes], random)
      const cut = 1 + Math.floor(random() * (nodes.length - 1))
      events.push({ atMs: start, kind, sides: [shuffled.slice(0, cut), shuffled.slice(cut)] })
      events.push({ atMs: end, kind: 'heal' })
    } else {
      const node = pick(nodes)
      events.push({ atMs: start, kind, nodes: [node] })
      events.push({ atMs: end, kind: kind === 'kill' ? 'restart' : 'resume', nodes: [node] })
    }
  })
  return events
}
