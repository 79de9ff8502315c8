/** Metric values as the web app shows them: multiplied by the metric's `scale`, 4 significant digits, then its `suffix`. */
import type { MetricDefinition } from '../projects/metric-definitions';

export function formatMetric(value: number | null, metric: Pick<MetricDefinition, 'scale' | 'suffix'>, { signed = false } = {}): string {
  if (value === null) return '–';
  const shown = Number((value * metric.scale).toPrecision(4));
  return `${signed && shown > 0 ? '+' : ''}${shown}${metric.suffix}`;
}

/** A relative change as a percentage (`+3.2%`); `–` when the reference was 0. */
export function formatPercent(fraction: number | null): string {
  if (fraction === null) return '–';
  const percent = Number((fraction * 100).toPrecision(3));
  return `${percent > 0 ? '+' : ''}${percent}%`;
}
