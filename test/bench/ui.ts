/**
 * The browser UI with a long history (issue 5): a group of 100,000 messages (`--quick`:
 * 10,000) on one `outpost start` process, and the UI in the same headless Chromium the
 * tests use (playwright-core, Debian's /usr/bin/chromium).
 *  - open: from the start of navigation to the sign-in link (which redirects to the page)
 *    to the frame after the latest message's row is in the DOM: `performance.now()` in the
 *    page, whose clock starts with that navigation. A fresh browser context each round (no
 *    cache, a new link). Baseline, same run: the same on a node whose group holds 100.
 *  - scroll: the history scrolled up 120 px per animation frame for 5 s from the latest
 *    message, older pages loading as it nears the top; the time between frames
 *    (requestAnimationFrame, with vsync and the frame-rate limit off, so that it is the
 *    time to make a frame rather than the display's 16.7 ms), p50/p95/p99. Baseline, same run: the same scroll over a plain
 *    list of as many rows as the UI held at the end, built once, with no framework, no
 *    loading.
 * Seeding: an in-process node posts the messages (32 in flight), stops, and `outpost start`
 * opens its data directory; seeding time is reported, not judged.
 */
import '../../node/polyfill.js'
import type { Browser, Page } from 'playwright-core'
import { OutpostNode } from '../../node/index.js'
import { launchBrowser } from '../helpers/browser.js'
import { seededRandom } from '../helpers/messages.js'
import { log, now, round, row, startOutpost, summarize, tempDir, type BenchResult, type OutpostProc } from './lib.js'

export interface UiBenchOptions {
  messages?: number
  rounds?: number
  scrollMs?: number
}

const WORDS = 'status report route weather map patrol camp radio battery supply 项目 进度 报告 会议 计划 完成 water fuel signal ready done'.split(' ')

/** A data directory with one group of `count` messages; the last message's id. */
async function seed (count: number): Promise<{ dataDir: string, lastId: string, ms: number }> {
  const dataDir = await tempDir('outpost-bench-ui-')
  const node = await OutpostNode.create({ dataDir, name: 'seeder', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  await node.start()
  const t0 = now()
  let lastId = ''
  try {
    const { groupId } = await node.createGroup('Logbook')
    const rnd = seededRandom(5)
    const text = (i: number): string => `${i} ` + Array.from({ length: 4 + Math.floor(rnd() * 20) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ')
    const inFlight = new Set<Promise<unknown>>()
    for (let i = 0; i < count; i++) {
      const p = node.send(groupId, text(i)).then(m => { if (i === count - 1) lastId = m.id }).finally(() => { inFlight.delete(p) })
      inFlight.add(p)
      if (inFlight.size >= 32) await Promise.race(inFlight)
      if (i % 20_000 === 0 && i > 0) log(`ui: seeded ${i} messages`)
    }
    await Promise.all(inFlight)
    // The latest by the history's order (ties of the clock are ordered by author and id).
    lastId = node.history(groupId, { limit: 1 })[0].id
  } finally {
    await node.stop()
  }
  return { dataDir, lastId, ms: now() - t0 }
}

/** A new sign-in link from the node (the token may ask for one). */
async function link (node: OutpostProc): Promise<string> {
  const res = await fetch(`${String(node.ready.api)}/v1/ui/link`, { method: 'POST', headers: { authorization: `Bearer ${node.token}` } })
  return ((await res.json()) as { ui: string }).ui
}

/** ms from navigation start to the frame after the row of `lastId` exists. */
async function openOnce (browser: Browser, node: OutpostProc, lastId: string): Promise<{ ms: number, page: Page, close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.addInitScript(id => {
    const w = window as unknown as { drawnAt?: number }
    const check = (): boolean => {
      if (document.querySelector(`[data-id="${id}"]`) == null) return false
      requestAnimationFrame(() => { w.drawnAt ??= performance.now() })
      return true
    }
    new MutationObserver((_, observer) => { if (check()) observer.disconnect() }).observe(document, { subtree: true, childList: true })
  }, lastId)
  const page = await context.newPage()
  await page.goto(await link(node))
  await page.waitForFunction(() => (window as unknown as { drawnAt?: number }).drawnAt != null, undefined, { timeout: 30_000 })
  const ms = await page.evaluate(() => (window as unknown as { drawnAt: number }).drawnAt)
  return { ms, page, close: async () => { await context.close() } }
}

/** Scrolls `selector` up by `step` px a frame for `ms`; the frame-to-frame times. */
async function scrollFrames (page: Page, selector: string, ms: number): Promise<{ frames: number[], rows: number }> {
  return await page.evaluate(async ({ selector, ms }) => {
    const el = document.querySelector(selector) as HTMLElement
    const frames: number[] = []
    // Rows scrolled past (a windowed list keeps few in the DOM at a time).
    const seen = new Set<string>()
    const note = (): void => { for (const row of el.querySelectorAll('[data-id], li')) seen.add(row.getAttribute('data-id') ?? `li${seen.size}`) }
    await new Promise<void>(resolve => {
      let last = performance.now()
      const end = last + ms
      const tick = (t: number): void => {
        frames.push(t - last)
        last = t
        note()
        el.scrollTop = Math.max(0, el.scrollTop - 120)
        if (t < end) requestAnimationFrame(tick)
        else resolve()
      }
      requestAnimationFrame(tick)
    })
    return { frames: frames.slice(1), rows: seen.size }
  }, { selector, ms })
}

/** The baseline list: `rows` plain rows of similar text, no framework. */
async function plainList (browser: Browser, rows: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await page.setContent(`<!doctype html><style>body{margin:0;font:14px/1.45 system-ui,sans-serif}#h{height:800px;overflow-y:auto;padding:8px 16px}li{padding:6px 8px}</style>
    <div id="h"><ol>${Array.from({ length: rows }, (_, i) => `<li><b>seeder</b> <time>12:00</time><div>${i} status report route weather 项目 进度 报告 water fuel signal ready</div></li>`).join('')}</ol></div>
    <script>const h=document.getElementById('h'); h.scrollTop=h.scrollHeight</script>`)
  return page
}

export async function uiBench (opts: UiBenchOptions = {}): Promise<BenchResult> {
  const count = opts.messages ?? 100_000
  const rounds = opts.rounds ?? 5
  const scrollMs = opts.scrollMs ?? 5_000
  log(`ui: seeding a group of ${count} messages and one of 100`)
  const big = await seed(count)
  const small = await seed(100)
  log(`ui: seeded ${count} in ${(big.ms / 1000).toFixed(1)} s (${Math.round(count / big.ms * 1000)} msg/s)`)
  const [bigNode, smallNode] = await Promise.all([startOutpost({ dataDir: big.dataDir }), startOutpost({ dataDir: small.dataDir })])
  const browser = await launchBrowser()
  // For the scroll, frames are not held to the display's 60 Hz: the time between two
  // animation frames is then the time it took to make one (script, style, layout, paint),
  // which is what the target is about. (Opening is timed in the ordinary browser.)
  const unpaced = await launchBrowser(['--disable-gpu-vsync', '--disable-frame-rate-limit'])
  try {
    // The API call the page makes first, as information.
    const groupsMs: number[] = []
    const pageMs: number[] = []
    const groupId = ((await bigNode.api.call('GET', '/v1/groups')) as Array<{ groupId: string }>)[0].groupId
    for (let i = 0; i < 10; i++) {
      let t = now()
      await bigNode.api.call('GET', '/v1/groups')
      groupsMs.push(now() - t)
      t = now()
      await bigNode.api.call('GET', `/v1/groups/${groupId}/messages?limit=50`)
      pageMs.push(now() - t)
    }
    // One warm-up open each (Chromium's own start-up costs), then the rounds, alternating.
    for (const [node, id] of [[bigNode, big.lastId], [smallNode, small.lastId]] as const) await (await openOnce(browser, node, id)).close()
    const openBig: number[] = []
    const openSmall: number[] = []
    for (let i = 0; i < rounds; i++) {
      const s = await openOnce(browser, smallNode, small.lastId)
      openSmall.push(s.ms)
      await s.close()
      const b = await openOnce(browser, bigNode, big.lastId)
      openBig.push(b.ms)
      await b.close()
      log(`ui: round ${i + 1} open ${round(b.ms, 1)} ms (100 messages: ${round(s.ms, 1)} ms)`)
    }
    const open = summarize(openBig)
    const openBase = summarize(openSmall)

    const b = await openOnce(unpaced, bigNode, big.lastId)
    await b.page.waitForTimeout(500)
    const outpost = await scrollFrames(b.page, '[data-testid=history]', scrollMs)
    await b.close()
    const plain = await plainList(unpaced, outpost.rows)
    const base = await scrollFrames(plain, '#h', scrollMs)
    await plain.close()
    const frames = summarize(outpost.frames)
    const baseFrames = summarize(base.frames)
    log(`ui: scroll over ${outpost.rows} rows: p95 ${round(frames.p95, 1)} ms (plain list: ${round(baseFrames.p95, 1)} ms)`)

    const label = `${count.toLocaleString('en')} messages`
    return {
      name: 'ui',
      rows: [
        row({ metric: `UI open → latest messages drawn (${label}), median`, value: round(open.p50, 1), unit: 'ms', target: { kind: 'max', value: 1_000 }, baseline: { value: round(openBase.p50, 1), label: 'the same, group of 100' } }),
        row({ metric: 'UI open → latest drawn, p95 (info)', value: round(open.p95, 1), unit: 'ms', baseline: { value: round(openBase.p95, 1), label: 'group of 100' } }),
        row({ metric: `UI scroll back through history: frame time p95 (${outpost.rows} rows loaded)`, value: round(frames.p95, 2), unit: 'ms', target: { kind: 'max', value: 16 }, baseline: { value: round(baseFrames.p95, 2), label: 'plain list of as many rows' } }),
        row({ metric: 'UI scroll: frame time p99 (info)', value: round(frames.p99, 2), unit: 'ms', baseline: { value: round(baseFrames.p99, 2), label: 'plain list' } }),
        row({ metric: `GET /v1/groups, ${label} (info)`, value: round(summarize(groupsMs).p50, 2), unit: 'ms' }),
        row({ metric: `GET messages?limit=50, ${label} (info)`, value: round(summarize(pageMs).p50, 2), unit: 'ms' })
      ],
      details: {
        messages: count,
        seeding: { ms: round(big.ms), perSecond: Math.round(count / big.ms * 1000) },
        openMs: { outpost: openBig.map(x => round(x, 1)), small: openSmall.map(x => round(x, 1)) },
        scroll: { frames: outpost.frames.length, rowsAtEnd: outpost.rows, p50: round(frames.p50, 2), p95: round(frames.p95, 2), p99: round(frames.p99, 2), over16: outpost.frames.filter(f => f > 16.7).length, baseline: { frames: base.frames.length, p50: round(baseFrames.p50, 2), p95: round(baseFrames.p95, 2), p99: round(baseFrames.p99, 2) } },
        api: { groupsMs: summarize(groupsMs), pageMs: summarize(pageMs) }
      }
    }
  } finally {
    await browser.close()
    await unpaced.close()
    await bigNode.stop()
    await smallNode.stop()
  }
}
