import { rm } from 'node:fs/promises'
import { killAll, type Daemon } from './cli.js'
import type { Lab } from './netns.js'

/** What a network-namespace suite holds, read when its hooks run. */
export interface LabSuite {
  daemons: Daemon[]
  dataDirs: string[]
  /** names of the nodes in messages (default: their index) */
  names?: string[]
  lab: () => Lab | null
  tmp: () => string | null
}

/**
 * Registers, in the calling describe(), the hooks every namespace suite needs: after a
 * failed test, each node's last log lines on stderr; at the end, the nodes stopped (and
 * any left killed), the lab removed, and the temporary directory removed unless a test
 * failed or OUTPOST_KEEP_TEST_DATA is set.
 */
export function labHooks (suite: LabSuite): void {
  let failed = false
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return
    failed = true
    suite.daemons.forEach((d, i) => {
      process.stderr.write(`\n--- node ${suite.names?.[i] ?? i} (pid ${d.pid}, ${d.alive() ? 'running' : 'exited'}), last log lines (full log: ${suite.dataDirs[i]}.log) ---\n`)
      process.stderr.write(d.logTail().split('\n').slice(-40).join('\n') + '\n')
    })
  })

  after(async function () {
    this.timeout(30_000)
    try {
      await Promise.all(suite.daemons.map(async d => await d.stop(3_000)))
      await killAll()
    } finally {
      try {
        // Removing the lab also removes anything set on its links (a rate limit).
        await suite.lab()?.destroy()
      } finally {
        const tmp = suite.tmp()
        if (failed || process.env.OUTPOST_KEEP_TEST_DATA != null) process.stderr.write(`      node data and logs kept in ${tmp}\n`)
        else if (tmp != null) await rm(tmp, { recursive: true, force: true })
      }
    }
  })
}

/** Progress notes on stderr, with OUTPOST_TEST_VERBOSE=1. */
export const note = (text: string): void => { if (process.env.OUTPOST_TEST_VERBOSE != null) process.stderr.write(`      [${new Date().toISOString().slice(11, 23)}] ${text}\n`) }

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Polls `check` every `everyMs` until it returns true; on timeout throws with `explain()`'s account of why. */
export async function poll (what: string, timeoutMs: number, check: () => Promise<boolean>, explain: () => string = () => '', everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) {
      const why = explain()
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why !== '' ? `\n${why}` : ''}`)
    }
    await sleep(everyMs)
  }
}
