/** Chart specs of the three experiments, ours beside the paper's numbers. */
import { lineChartSpec, type ChartRow } from './chart.js'
import { evalFit, type Fit } from './stats.js'
import type { ConvergenceResult, FaultPoint, FaultResult } from './experiments.js'
import type { ScalabilityResult } from './scalability.js'
import type { TopLevelSpec } from 'vega-lite'

const QUARTILES = [['q1', 'first quartile'], ['median', 'median'], ['q3', 'third quartile']] as const

export function convergenceChart (r: ConvergenceResult): TopLevelSpec {
  const rows: ChartRow[] = []
  for (const [k, label] of QUARTILES) {
    for (const p of r.series) rows.push({ x: p.t, y: p[k], series: label, source: 'warren' })
    for (const p of r.paper) rows.push({ x: p.t, y: p[k], series: label, source: 'paper' })
  }
  return lineChartSpec(rows, {
    title: `Request path length over time, ${r.params.nodes} nodes, ${r.params.trials} trial(s)`,
    xTitle: 'timestep (one insert or request)',
    yTitle: 'request path length (hops; failure = 500; 0 drawn as 1)',
    yScale: 'log'
  })
}

export function scalabilityChart (r: ScalabilityResult): TopLevelSpec {
  const rows: ChartRow[] = []
  for (const [k, label] of QUARTILES) {
    for (const p of r.series) rows.push({ x: p.nodes, y: p[k], series: label, source: 'warren' })
  }
  const xs = r.series.map((p) => p.nodes)
  const lo = Math.max(100, Math.min(...xs))
  const hi = Math.max(1e6, ...xs)
  const paper: Fit = { law: 'power', a: r.paper.at1M / Math.pow(1e6, r.paper.exponent), b: r.paper.exponent, r2: 1 }
  for (let x = lo; x <= hi * 1.0001; x *= 1.5) {
    rows.push({ x, y: evalFit(paper, x), series: 'median', source: 'paper (N^0.28, 30 at 10^6)' })
    if (x >= 1000) rows.push({ x, y: evalFit(r.fits.power, x), series: 'median', source: `warren fit (N^${r.fits.power.b.toFixed(2)})` })
  }
  return lineChartSpec(rows, {
    title: `Request path length against network size (growth to ${r.params.nodes} nodes)`,
    xTitle: 'network size (nodes)',
    yTitle: 'request path length (hops; failure = 500)',
    xScale: 'log',
    yScale: 'log'
  })
}

export function faultCharts (r: FaultResult): Record<string, TopLevelSpec> {
  const modes: Array<[string, FaultPoint[]]> = [['random', r.random], ['targeted', r.targeted]]
  const paths: ChartRow[] = []
  const success: ChartRow[] = []
  const lcc: ChartRow[] = []
  for (const [mode, pts] of modes) {
    for (const p of pts) {
      paths.push({ x: p.fraction, y: p.median, series: `median, ${mode}`, source: 'warren' })
      if (mode === 'random') {
        paths.push({ x: p.fraction, y: p.q1, series: 'first quartile, random', source: 'warren' })
        paths.push({ x: p.fraction, y: p.q3, series: 'third quartile, random', source: 'warren' })
      }
      success.push({ x: p.fraction, y: p.success, series: `all keys, ${mode}`, source: 'warren' })
      success.push({ x: p.fraction, y: p.successLive, series: `keys still stored, ${mode}`, source: 'warren' })
      lcc.push({ x: p.fraction, y: p.largestComponent, series: mode, source: 'warren' })
    }
  }
  paths.push({ x: 0, y: r.paper.randomMedianBound, series: 'median, random', source: 'paper (bound: < 20 up to 30 %)' })
  paths.push({ x: r.paper.atFraction, y: r.paper.randomMedianBound, series: 'median, random', source: 'paper (bound: < 20 up to 30 %)' })
  const n = r.random[0]?.largestComponent ?? r.params.nodes
  lcc.push({ x: r.paper.targetedCollapse, y: 0, series: 'targeted', source: 'paper (collapse near 60 %)' })
  lcc.push({ x: r.paper.targetedCollapse, y: n, series: 'targeted', source: 'paper (collapse near 60 %)' })
  const title = `${r.params.nodes}-node grown network, ${r.params.trials} trial(s)`
  return {
    'fault-tolerance-paths.svg': lineChartSpec(paths, { title: `Request path length under node removal, ${title}`, xTitle: 'fraction of nodes removed', yTitle: 'request path length (hops; failure = 500; 0 drawn as 1)', yScale: 'log' }),
    'fault-tolerance-success.svg': lineChartSpec(success, { title: `Request success under node removal, ${title}`, xTitle: 'fraction of nodes removed', yTitle: 'fraction of probes that found the data' }),
    'fault-tolerance-lcc.svg': lineChartSpec(lcc, { title: `Largest connected component, ${title}`, xTitle: 'fraction of nodes removed', yTitle: 'nodes in the largest component' })
  }
}
