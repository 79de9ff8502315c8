/**
 * How a verdict reads on GitLab: the commit status's name and description, and the merge-request
 * note (markdown). Test input paths, labels and reasons come from uploads and configs: they are
 * escaped so that they can't break the tables, inject markup, or mention people.
 */
import type { ComparisonJson } from '../domain/compare/comparison-json';
import { formatMetric, formatPercent } from '../domain/compare/metric-format';
import type { Verdict } from '../domain/compare/regression-rules';

const STATUS_DESCRIPTION_MAX = 255;
const NOTE_ICON: Record<Verdict, string> = { pass: '✅', improved: '📈', incomplete: '⚠️', regressed: '❌' };

/** `qa-board/<batch>`; a monorepo sub-project's statuses are told apart: `qa-board/<folder>/<batch>`. */
export const statusName = (batch: string, subproject: string) => `qa-board/${subproject ? `${subproject}/` : ''}${batch}`;

export function statusDescription({ verdict, reasons }: Pick<ComparisonJson, 'verdict' | 'reasons'>): string {
  const text = `${verdict}: ${reasons.join('; ')}`;
  return text.length <= STATUS_DESCRIPTION_MAX ? text : `${text.slice(0, STATUS_DESCRIPTION_MAX - 1)}…`;
}

/** Finds the note of a (project, batch) among a merge request's notes: an HTML comment, not shown. */
export const noteMarker = (projectId: string, batch: string) =>
  `<!-- qa-board verdict: project=${encodeURIComponent(projectId)} batch=${encodeURIComponent(batch)} -->`;

/** Text in a markdown table cell: no cell breaks, no markup, no @mentions. */
function text(value: string): string {
  return value
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]<>|#~]/g, (c) => `\\${c}`)
    .replace(/@/g, '@\u200b');
}

/** Inline code: a backtick can't end it; in a table cell, a pipe can't end the cell. */
const code = (value: string, { inTable = false } = {}) => {
  const shown = value.replace(/[\r\n]+/g, ' ').replace(/`/g, "'");
  return `\`${inTable ? shown.replace(/\|/g, '\\|') : shown}\``;
};

const formatP = (p: number) => (p < 1e-4 ? p.toExponential(1) : String(Number(p.toPrecision(2))));

export function verdictNote(comparison: ComparisonJson, marker: string): string {
  const { verdict, reference, commit, counts, metrics } = comparison;
  const lines = [marker, `### ${NOTE_ICON[verdict]} QA-Board: batch ${code(commit.batch)} ${verdict}`, ''];
  lines.push(
    reference
      ? `Compared with ${code(reference.id.slice(0, 8))} (${text(reference.branch ?? reference.requested)}, batch ${code(reference.batch)}) on ${counts.paired} paired inputs.`
      : 'No reference to compare with yet.',
    '',
    ...comparison.reasons.map((reason) => `- ${text(reason)}`),
    '',
  );
  const compared = Object.entries(metrics).filter(([, m]) => m.status !== 'absent');
  if (compared.length) {
    lines.push('| Metric | Status | Inputs worse / better / paired | Median (ref → new) | Median Δ | p (worse) |', '|---|---|---|---|---|---|');
    for (const [, m] of compared) {
      lines.push(
        `| ${text(m.label)} | ${m.status} | ${m.regressed} / ${m.improved} / ${m.pairs} | ${formatMetric(m.ref.median, m)} → ${formatMetric(m.new.median, m)} ` +
          `| ${formatMetric(m.median_delta, m, { signed: true })} | ${formatP(m.p_regression)} |`,
      );
    }
    lines.push('');
  }
  if (comparison.worst_regressions.length) {
    lines.push('**Worst regressions**', '', '| Input | Metric | Ref | New | Δ | Δ % |', '|---|---|---|---|---|---|');
    for (const worst of comparison.worst_regressions) {
      const m = metrics[worst.metric]!;
      lines.push(
        `| ${code(worst.test_input_path, { inTable: true })} | ${text(m.label)} | ${formatMetric(worst.ref, m)} | ${formatMetric(worst.new, m)} ` +
          `| ${formatMetric(worst.delta, m, { signed: true })} | ${formatPercent(worst.relative_delta)} |`,
      );
    }
    lines.push('');
  }
  // In angle brackets, the link may hold parentheses; the URL is built encoded (no spaces, < or >).
  if (comparison.url) lines.push(`[Open the comparison in QA-Board](<${comparison.url}>)`);
  return lines.join('\n').trimEnd() + '\n';
}
