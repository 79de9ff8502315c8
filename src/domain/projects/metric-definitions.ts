/**
 * The metrics a project defines: its metrics file (qaboard.yaml `outputs.metrics`), stored as
 * `data.qatools_metrics`. Each entry of `available_metrics` may omit any field (the file's
 * defaults: label = the key, smaller is better, scale 1, no suffix, no target).
 */
type Json = Record<string, unknown>;

export interface MetricDefinition {
  name: string;
  label: string;
  smallerIsBetter: boolean;
  target: number | null;
  /** Values are shown multiplied by `scale`, followed by `suffix` (e.g. 100 and `%`). */
  scale: number;
  suffix: string;
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const finite = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function metricsFile(projectData: Json): Json {
  return isObject(projectData.qatools_metrics) ? projectData.qatools_metrics : {};
}

/** `available_metrics`, in the file's order. */
export function metricDefinitions(projectData: Json): Map<string, MetricDefinition> {
  const available = metricsFile(projectData).available_metrics;
  const definitions = new Map<string, MetricDefinition>();
  if (!isObject(available)) return definitions;
  for (const [name, entry] of Object.entries(available)) {
    const fields = isObject(entry) ? entry : {};
    definitions.set(name, {
      name,
      label: typeof fields.label === 'string' && fields.label ? fields.label : name,
      smallerIsBetter: typeof fields.smaller_is_better === 'boolean' ? fields.smaller_is_better : true,
      target: finite(fields.target),
      scale: finite(fields.scale) ?? 1,
      suffix: typeof fields.suffix === 'string' ? fields.suffix : '',
    });
  }
  return definitions;
}

/** `main_metrics`: the few the web app shows first. */
export function mainMetricNames(projectData: Json): string[] {
  const main = metricsFile(projectData).main_metrics;
  return Array.isArray(main) ? main.filter((name): name is string => typeof name === 'string') : [];
}
