/** Small statistics helpers for the experiments. */

/** Quantile `q` of ascending `sorted` values, linear interpolation between ranks (R type 7). */
export function quantile (sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return NaN
  const pos = (n - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.min(n - 1, lo + 1)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

export interface Quartiles {
  q1: number
  median: number
  q3: number
}

export function quartiles (values: number[]): Quartiles {
  const s = Float64Array.from(values).sort()
  return { q1: quantile(s, 0.25), median: quantile(s, 0.5), q3: quantile(s, 0.75) }
}

export function mean (values: number[]): number {
  let s = 0
  for (const v of values) s += v
  return values.length === 0 ? NaN : s / values.length
}

export interface Fit {
  /** y = a * x^b (power law) or y = a + b * ln x (logarithmic). */
  law: 'power' | 'log'
  a: number
  b: number
  /** Coefficient of determination of the fit (on log y for the power law). */
  r2: number
}

/** Least-squares fit of y = a * x^b on log-log axes. */
export function fitPower (xs: number[], ys: number[]): Fit {
  const { slope, intercept, r2 } = linear(xs.map(Math.log), ys.map(Math.log))
  return { law: 'power', a: Math.exp(intercept), b: slope, r2 }
}

/** Least-squares fit of y = a + b ln x. */
export function fitLog (xs: number[], ys: number[]): Fit {
  const { slope, intercept, r2 } = linear(xs.map(Math.log), ys)
  return { law: 'log', a: intercept, b: slope, r2 }
}

export function evalFit (f: Fit, x: number): number {
  return f.law === 'power' ? f.a * Math.pow(x, f.b) : f.a + f.b * Math.log(x)
}

function linear (xs: number[], ys: number[]): { slope: number, intercept: number, r2: number } {
  const mx = mean(xs)
  const my = mean(ys)
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my)
    sxx += (xs[i] - mx) ** 2
    syy += (ys[i] - my) ** 2
  }
  const slope = sxy / sxx
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) }
}
