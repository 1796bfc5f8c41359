/**
 * `outpost lab --html FILE`: the report as one self-contained page (inline CSS and SVG, no
 * script, no fetch), so that it opens offline and can be mailed or archived as it is.
 */
import type { LabReport, TimelineEntry } from './report.js'

const esc = (s: string): string => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
const fmtMs = (ms: number | null): string => ms == null ? '–' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`
const fmtBytes = (b: number | null): string => b == null ? '–' : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`

const SIDE_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948']
const STATE_COLOURS: Record<string, string> = { killed: '#d62728', paused: '#ff9f1c', limited: '#8c564b', faults: '#9467bd' }

interface Span { node: string, fromMs: number, toMs: number, kind: string, colour: string, label: string }

/** Replays the timeline into per-node bars: down, paused, slowed, and partition sides. */
function spans (report: LabReport, names: string[]): Span[] {
  const end = report.durationMs
  const open = new Map<string, Span>()
  const out: Span[] = []
  const close = (key: string, atMs: number): void => {
    const span = open.get(key)
    if (span != null) { span.toMs = atMs; out.push(span); open.delete(key) }
  }
  const begin = (node: string, kind: string, atMs: number, colour: string, label: string): void => {
    close(`${node}:${kind}`, atMs)
    open.set(`${node}:${kind}`, { node, fromMs: atMs, toMs: end, kind, colour, label })
  }
  const ends: Record<string, string> = { restart: 'killed', resume: 'paused' }
  for (const e of report.timeline) {
    if (e.kind === 'partition') {
      for (const n of names) close(`${n}:side`, e.atMs)
      e.sides?.forEach((side, i) => { for (const n of side) begin(n, 'side', e.atMs, SIDE_COLOURS[i % SIDE_COLOURS.length], `side ${i + 1}`) })
    } else if (e.kind === 'heal') {
      for (const n of names) close(`${n}:side`, e.atMs)
    } else if (e.kind === 'kill' || e.kind === 'pause') {
      for (const n of e.nodes ?? []) begin(n, e.kind === 'kill' ? 'killed' : 'paused', e.atMs, STATE_COLOURS[e.kind === 'kill' ? 'killed' : 'paused'], e.kind === 'kill' ? 'killed' : 'paused')
    } else if (ends[e.kind] != null) {
      for (const n of e.nodes ?? []) close(`${n}:${ends[e.kind]}`, e.atMs)
    } else if (e.kind === 'limit' || e.kind === 'faults') {
      const kind = e.kind === 'limit' ? 'limited' : 'faults'
      const lifted = /lifted|delay 0 ms, loss 0%/.test(e.detail)
      for (const n of e.nodes ?? []) lifted ? close(`${n}:${kind}`, e.atMs) : begin(n, kind, e.atMs, STATE_COLOURS[kind], e.detail)
    }
  }
  for (const key of [...open.keys()]) close(key, end)
  return out
}

function timelineChart (report: LabReport): string {
  const names = report.perNode.map(n => n.name)
  const W = 900; const left = 50; const row = 18; const top = 20
  const chartH = 90
  const H = top + names.length * row + 30 + chartH + 30
  const endMs = Math.max(report.durationMs, 1)
  const x = (ms: number): number => left + (W - left - 10) * ms / endMs
  const parts: string[] = []
  names.forEach((n, i) => {
    const y = top + i * row
    parts.push(`<text x="${left - 6}" y="${y + 12}" text-anchor="end" class="label">${esc(n)}</text><rect x="${left}" y="${y + 2}" width="${W - left - 10}" height="${row - 4}" fill="#eef1f5"/>`)
  })
  for (const s of spans(report, names)) {
    const i = names.indexOf(s.node)
    const sideBar = s.kind === 'side'
    const y = top + i * row + (sideBar ? 2 : 5)
    parts.push(`<rect x="${x(s.fromMs).toFixed(1)}" y="${y}" width="${Math.max(1, x(s.toMs) - x(s.fromMs)).toFixed(1)}" height="${sideBar ? row - 4 : row - 10}" fill="${s.colour}" opacity="${sideBar ? 0.35 : 0.9}"><title>${esc(`${s.node}: ${s.label}, ${fmtMs(s.fromMs)} to ${fmtMs(s.toMs)}`)}</title></rect>`)
  }
  const bottom = top + names.length * row
  for (const r of report.recoveries) {
    parts.push(`<line x1="${x(r.atMs)}" x2="${x(r.atMs)}" y1="${top}" y2="${bottom + 30 + chartH}" stroke="#2ca02c" stroke-dasharray="3 2"><title>${esc(`${r.kind} at ${fmtMs(r.atMs)}`)}</title></line>`)
    if (r.convergenceMs != null) parts.push(`<rect x="${x(r.atMs)}" y="${bottom + 6}" width="${Math.max(2, x(r.atMs + r.convergenceMs) - x(r.atMs))}" height="8" fill="#2ca02c"><title>${esc(`converged ${fmtMs(r.convergenceMs)} after the ${r.kind}`)}</title></rect>`)
  }
  // Messages acknowledged and delivered per second, under the node rows.
  const base = bottom + 30 + chartH
  const peak = Math.max(1, ...report.rate.map(r => Math.max(r.acknowledged, r.delivered / Math.max(1, names.length - 1))))
  const line = (value: (r: LabReport['rate'][number]) => number): string => report.rate.map((r, i) => `${i === 0 ? 'M' : 'L'}${x(r.second * 1000 + 500).toFixed(1)},${(base - chartH * value(r) / peak).toFixed(1)}`).join(' ')
  parts.push(`<line x1="${left}" x2="${W - 10}" y1="${base}" y2="${base}" stroke="#999"/>`)
  parts.push(`<path d="${line(r => r.acknowledged)}" fill="none" stroke="#4e79a7" stroke-width="1.5"/>`)
  parts.push(`<path d="${line(r => r.delivered / Math.max(1, names.length - 1))}" fill="none" stroke="#e15759" stroke-width="1.5" stroke-dasharray="4 2"/>`)
  parts.push(`<text x="${left - 6}" y="${base - chartH + 10}" text-anchor="end" class="label">${Math.round(peak)}/s</text>`)
  for (let s = 0; s <= endMs / 1000; s += Math.max(1, Math.ceil(endMs / 1000 / 12))) {
    parts.push(`<text x="${x(s * 1000)}" y="${base + 16}" text-anchor="middle" class="label">${s} s</text>`)
  }
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="timeline of faults and convergence">${parts.join('')}</svg>
<p class="legend"><span style="background:${STATE_COLOURS.killed}"></span>killed <span style="background:${STATE_COLOURS.paused}"></span>paused <span style="background:${STATE_COLOURS.limited}"></span>bandwidth limited <span style="background:${STATE_COLOURS.faults}"></span>delay/loss <span style="background:${SIDE_COLOURS[0]};opacity:.4"></span><span style="background:${SIDE_COLOURS[1]};opacity:.4"></span>partition sides <span style="background:#2ca02c"></span>time to converge after a recovery (dashed line) — below: messages acknowledged per second (blue) and delivered per receiving node per second (red, dashed)</p>`
}

function histogramChart (report: LabReport): string {
  const buckets = report.latencyHistogram
  if (buckets.length === 0) return '<p>No deliveries were measured.</p>'
  const W = 900; const H = 220; const left = 50; const bottom = H - 30
  const peak = Math.max(1, ...buckets.map(b => b.count))
  const w = (W - left - 10) / buckets.length
  const bars = buckets.map((b, i) => {
    const h = (bottom - 10) * b.count / peak
    return `<rect x="${(left + i * w + 2).toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(w - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="#4e79a7"><title>${b.count} deliveries in ${fmtMs(b.upToMs / 2)}–${fmtMs(b.upToMs)}</title></rect><text x="${(left + i * w + w / 2).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" class="label">≤${fmtMs(b.upToMs)}</text>`
  }).join('')
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="delivery latency histogram"><line x1="${left}" x2="${W - 10}" y1="${bottom}" y2="${bottom}" stroke="#999"/>${bars}<text x="${left - 6}" y="18" text-anchor="end" class="label">${peak}</text></svg>`
}

const row = (cells: Array<string | number>): string => `<tr>${cells.map(c => `<td>${typeof c === 'number' ? c : esc(c)}</td>`).join('')}</tr>`

export function htmlReport (report: LabReport): string {
  const l = report.latencyMs
  const verdict = report.passed ? '<p class="pass">Every check held.</p>' : `<div class="fail"><p>Checks failed:</p><ul>${report.failures.map(f => `<li>${esc(f)}</li>`).join('')}</ul></div>`
  const events = report.timeline.map((e: TimelineEntry) => row([fmtMs(e.atMs), e.detail])).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outpost lab: ${esc(report.scenario)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #1d2330 }
h1 { font-size: 1.5em } h2 { font-size: 1.15em; margin-top: 2em }
table { border-collapse: collapse; margin: .5em 0 } td, th { padding: 3px 10px; border-bottom: 1px solid #e3e6eb; text-align: left }
.label { font-size: 11px; fill: #555 } .pass { color: #1b7a33; font-weight: 600 } .fail { color: #b01c1c }
.legend span { display: inline-block; width: 12px; height: 10px; margin: 0 3px 0 10px } .legend { font-size: 12px; color: #555 }
</style></head><body>
<h1>Outpost lab: ${esc(report.scenario)}</h1>
<p>${report.nodes} nodes (${report.mode === 'namespaces' ? 'real node processes, one per network namespace' : 'in one process, faults injected'}), seed ${report.seed}, started ${esc(report.startedAt)}, ${fmtMs(report.durationMs)}.</p>
${verdict}
<h2>Summary</h2>
<table>
${row(['messages sent', report.sent])}${row(['acknowledged by a node\'s API', report.acknowledged])}${row(['not acknowledged (node down or refused)', report.unacknowledged])}
${row(['lost (acknowledged, missing on a live node)', report.lost])}${row(['duplicates', report.duplicates])}${row(['order mismatches', report.orderMismatches])}
${row(['converged', report.converged ? `yes, ${fmtMs(report.convergenceMs)} after the last recovery (limit ${fmtMs(report.convergeWithinMs)})` : 'no'])}
${row(['delivery latency p50 / p90 / p99 / max', `${fmtMs(l.p50)} / ${fmtMs(l.p90)} / ${fmtMs(l.p99)} / ${fmtMs(l.max)} (${l.count} deliveries)`])}
${row(['  while no fault was active', `p50 ${fmtMs(l.calm.p50)}, p99 ${fmtMs(l.calm.p99)} (${l.calm.count})`])}
${row(['  sent during a fault', `p50 ${fmtMs(l.duringFaults.p50)}, p99 ${fmtMs(l.duringFaults.p99)} (${l.duringFaults.count})`])}
${row(['gossip copies received per message', report.gossip.copiesPerMessage ?? '–'])}
${row(['sync bytes received / ideal', `${fmtBytes(report.sync.bytesReceived)} / ${fmtBytes(report.sync.idealBytes)}${report.sync.ratio != null ? ` (${report.sync.ratio}×)` : ''}`])}
</table>
<h2>Timeline</h2>
${timelineChart(report)}
<h2>Delivery latency</h2>
${histogramChart(report)}
<h2>Recoveries</h2>
<table><tr><th>at</th><th>event</th><th>deliveries missing then</th><th>converged after</th></tr>${report.recoveries.map(r => row([fmtMs(r.atMs), r.kind, r.missing, r.convergenceMs == null ? 'not within the run' : fmtMs(r.convergenceMs)])).join('')}</table>
<h2>Nodes</h2>
<table><tr><th>node</th><th>at the end</th><th>acknowledged</th><th>CPU (of one core)</th><th>peak memory</th><th>sync bytes received</th></tr>${report.perNode.map(n => row([n.name, n.state, n.acknowledged, n.cpuPercent == null ? '–' : `${n.cpuPercent}%`, fmtBytes(n.peakRssBytes), fmtBytes(n.syncBytesReceived)])).join('')}</table>
${report.process != null ? `<p>All nodes in one process: ${report.process.cpuPercent}% CPU, ${fmtBytes(report.process.peakRssBytes)} peak memory.</p>` : ''}
<h2>Events</h2>
<table>${events}</table>
<p class="legend">Sync ideal: the payload bytes of the messages that live nodes lacked at each recovery.</p>
</body></html>
`
}
