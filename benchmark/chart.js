'use strict'

// An SVG chart of a benchmark run: ops/s against concurrency, the addon against the ioredis
// reference, one panel per method (for one dataset size). Plain SVG text, no dependency.
//
//   node benchmark/chart.js results.jsonl [out.svg] [N]
//
// benchmark/run.js calls `writeChart` itself when BENCH_JSON is set (the chart lands next to
// the JSON lines, as <name>.svg).

const fs = require('node:fs')

const COLORS = { addon: '#d9480f', reference: '#1c7ed6' }
const PANEL_W = 300
const PANEL_H = 210
const PAD = { left: 62, right: 14, top: 34, bottom: 40 }
const COLS = 3

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
}

function compact(n) {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`
  if (n >= 1e3) return `${+(n / 1e3).toFixed(0)}k`
  return String(Math.round(n))
}

/** A "nice" upper bound for an axis: 1, 2 or 5 × 10^k at or above `max`. */
function niceMax(max) {
  if (!(max > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(max))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p
  return 10 * p
}

/**
 * The SVG text for `results` (run.js's JSON result lines: { impl, n, method, c, opsPerSec }),
 * for dataset size `n` (default: the largest present). `title` heads the chart.
 */
function chartSvg(results, { n, title = 'spots-sessions: ops/s by concurrency' } = {}) {
  const rows = results.filter((r) => r.impl && r.method && Number.isFinite(r.c) && Number.isFinite(r.opsPerSec))
  if (rows.length === 0) throw new Error('no benchmark results to chart')
  const size = n ?? Math.max(...rows.map((r) => r.n))
  const mine = rows.filter((r) => r.n === size)
  const methods = [...new Set(mine.map((r) => r.method))]
  const cols = Math.min(COLS, methods.length)
  const panelRows = Math.ceil(methods.length / cols)
  const width = cols * PANEL_W
  const height = 56 + panelRows * PANEL_H + 26
  const out = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  )
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`)
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`)
  out.push(
    `<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">${esc(`${size.toLocaleString('en-US')} sessions; x: calls in flight (log scale), y: ops/s (median of repetitions)`)}</text>`,
  )
  methods.forEach((method, k) => {
    const ox = (k % cols) * PANEL_W
    const oy = 56 + Math.floor(k / cols) * PANEL_H
    const pts = mine.filter((r) => r.method === method)
    const cs = [...new Set(pts.map((r) => r.c))].sort((a, b) => a - b)
    const ymax = niceMax(Math.max(...pts.map((r) => r.opsPerSec)))
    const plotW = PANEL_W - PAD.left - PAD.right
    const plotH = PANEL_H - PAD.top - PAD.bottom
    const lx = (c) =>
      cs.length === 1 ? 0.5 : (Math.log(c) - Math.log(cs[0])) / (Math.log(cs[cs.length - 1]) - Math.log(cs[0]))
    const x = (c) => ox + PAD.left + lx(c) * plotW
    const y = (v) => oy + PAD.top + plotH - (v / ymax) * plotH
    out.push(
      `<text x="${ox + PANEL_W / 2}" y="${oy + 18}" text-anchor="middle" font-size="12" font-weight="bold">${esc(method)}</text>`,
    )
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4
      out.push(`<line x1="${ox + PAD.left}" x2="${ox + PAD.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e9ecef"/>`)
      out.push(`<text x="${ox + PAD.left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${compact(v)}</text>`)
    }
    for (const c of cs) {
      out.push(`<line x1="${x(c)}" x2="${x(c)}" y1="${oy + PAD.top}" y2="${oy + PAD.top + plotH}" stroke="#f1f3f5"/>`)
      out.push(`<text x="${x(c)}" y="${oy + PAD.top + plotH + 14}" text-anchor="middle" fill="#555">${c}</text>`)
    }
    out.push(
      `<text x="${ox + PAD.left + plotW / 2}" y="${oy + PANEL_H - 8}" text-anchor="middle" fill="#777">concurrency</text>`,
    )
    for (const impl of ['addon', 'reference']) {
      const line = pts.filter((r) => r.impl === impl).sort((a, b) => a.c - b.c)
      if (line.length === 0) continue
      const d = line.map((r, i) => `${i ? 'L' : 'M'}${x(r.c).toFixed(1)},${y(r.opsPerSec).toFixed(1)}`).join(' ')
      out.push(`<path d="${d}" fill="none" stroke="${COLORS[impl]}" stroke-width="2"/>`)
      for (const r of line) {
        out.push(
          `<circle cx="${x(r.c).toFixed(1)}" cy="${y(r.opsPerSec).toFixed(1)}" r="3" fill="${COLORS[impl]}"><title>${esc(`${impl} ${method} c=${r.c}: ${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s`)}</title></circle>`,
        )
      }
    }
  })
  const ly = height - 12
  out.push(
    `<rect x="${width / 2 - 150}" y="${ly - 9}" width="14" height="4" fill="${COLORS.addon}"/><text x="${width / 2 - 130}" y="${ly - 3}">addon (native)</text>`,
  )
  out.push(
    `<rect x="${width / 2 + 10}" y="${ly - 9}" width="14" height="4" fill="${COLORS.reference}"/><text x="${width / 2 + 30}" y="${ly - 3}">ioredis reference</text>`,
  )
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** Reads run.js's JSON lines. */
function readResults(jsonlPath) {
  return fs
    .readFileSync(jsonlPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

/** Writes the chart of `jsonlPath`'s results next to it (`.jsonl` → `.svg`); returns its path. */
function writeChart(jsonlPath, outPath = jsonlPath.replace(/(\.jsonl?)?$/, '.svg'), opts = {}) {
  const lines = readResults(jsonlPath)
  const machine = lines.find((l) => l.kind === 'machine')
  const title = machine
    ? `addon vs ioredis reference — ${machine.cpus} cores, node ${machine.node}, redis ${machine.redis}`
    : undefined
  fs.writeFileSync(outPath, chartSvg(lines, { title, ...opts }))
  return outPath
}

module.exports = { chartSvg, writeChart, readResults }

if (require.main === module) {
  const [input, output, n] = process.argv.slice(2)
  if (!input) {
    console.error('usage: node benchmark/chart.js results.jsonl [out.svg] [N]')
    process.exit(2)
  }
  console.log(writeChart(input, output || undefined, n ? { n: Number(n) } : {}))
}
