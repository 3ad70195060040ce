/**
 * Charts for the experiments: Vega-Lite specs rendered to SVG with Vega's headless
 * renderer (no browser, no canvas). Our curves are solid; the paper's published numbers
 * are drawn on the same axes, dashed, with points.
 */
import { View, parse } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

export interface ChartRow {
  x: number
  y: number
  /** Colour: what is measured, e.g. "median". */
  series: string
  /** Line style: "warren" is solid; the paper (and fits) are dashed, the paper with points. */
  source: string
}

export interface LineChartOptions {
  title: string
  xTitle: string
  yTitle: string
  xScale?: 'linear' | 'log'
  yScale?: 'linear' | 'log'
  /** Lower clamp of a log axis (values below are drawn at it). */
  yMin?: number
  width?: number
  height?: number
}

/** A Vega-Lite spec of lines: colour by series, dash by source, points on the paper's values. */
export function lineChartSpec (rows: ChartRow[], o: LineChartOptions): TopLevelSpec {
  const yMin = o.yMin ?? 1
  const values = o.yScale === 'log' ? rows.map((r) => ({ ...r, y: Math.max(yMin, r.y) })) : rows
  const sources = [...new Set(rows.map((r) => r.source))]
  const x = { field: 'x', type: 'quantitative', title: o.xTitle, scale: { type: o.xScale ?? 'linear' } }
  const y = { field: 'y', type: 'quantitative', title: o.yTitle, scale: o.yScale === 'log' ? { type: 'log', domainMin: yMin } : { type: 'linear' } }
  const color = { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 320 } }
  const strokeDash = {
    field: 'source',
    type: 'nominal',
    title: null,
    scale: { domain: sources, range: sources.map((s) => s === 'warren' ? [1, 0] : s === 'paper' ? [6, 4] : [2, 3]) },
    legend: { labelLimit: 320 }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 560,
    height: o.height ?? 320,
    background: 'white',
    data: { values },
    layer: [
      { mark: { type: 'line', strokeWidth: 2, clip: true }, encoding: { x, y, color, strokeDash, detail: { field: 'source' } } },
      { transform: [{ filter: "datum.source === 'paper'" }], mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color } }
    ]
  } as TopLevelSpec
}

/** Render a Vega-Lite spec to an SVG document. */
export async function renderSvg (spec: TopLevelSpec): Promise<string> {
  const vg = compile(spec).spec
  const view = new View(parse(vg), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
