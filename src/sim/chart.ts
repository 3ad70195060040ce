/**
 * Charts for the experiments: Vega-Lite specs rendered to SVG with Vega's headless
 * renderer (no browser, no canvas). Our curves are solid; the paper's published numbers
 * are drawn on the same axes as dashed lines with points.
 */
import { View, parse } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

export interface ChartRow {
  x: number
  y: number
  /** Legend entry, e.g. "median (ours)". */
  series: string
  /** 'ours' is drawn solid, anything else dashed with points. */
  source: string
}

export interface LineChartOptions {
  title: string
  xTitle: string
  yTitle: string
  xScale?: 'linear' | 'log'
  yScale?: 'linear' | 'log'
  width?: number
  height?: number
}

/** A Vega-Lite spec of lines, one per series. */
export function lineChartSpec (rows: ChartRow[], o: LineChartOptions): TopLevelSpec {
  const x = { field: 'x', type: 'quantitative', title: o.xTitle, scale: { type: o.xScale ?? 'linear' } }
  const y = { field: 'y', type: 'quantitative', title: o.yTitle, scale: { type: o.yScale ?? 'linear' } }
  const color = { field: 'series', type: 'nominal', title: null }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 560,
    height: o.height ?? 320,
    background: 'white',
    data: { values: rows },
    layer: [
      {
        transform: [{ filter: "datum.source === 'ours'" }],
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y, color }
      },
      {
        transform: [{ filter: "datum.source !== 'ours'" }],
        mark: { type: 'line', strokeDash: [6, 4], point: true, strokeWidth: 1.5 },
        encoding: { x, y, color }
      }
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
