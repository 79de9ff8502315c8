/**
 * Standard 5-field cron expressions (minute hour day-of-month month day-of-week, UTC), as Cron
 * Triggers use them — so the Node entry can run the Worker's schedules from the same constants.
 * Fields: `*`, numbers, lists (`1,15`), ranges (`1-5`) and steps (`*\/10`).
 */
const FIELD_RANGES: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];

function fieldMatches(field: string, value: number, [min, max]: [number, number]): boolean {
  return field.split(',').some((part) => {
    const [range, stepText] = part.split('/');
    const step = stepText ? Number(stepText) : 1;
    const [from, to] = range === '*' ? [min, max] : range!.includes('-') ? range!.split('-').map(Number) : [Number(range), Number(range)];
    return value >= from! && value <= to! && (value - from!) % step === 0;
  });
}

export function cronMatches(expression: string, date: Date): boolean {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`not a 5-field cron expression: ${expression}`);
  const values = [date.getUTCMinutes(), date.getUTCHours(), date.getUTCDate(), date.getUTCMonth() + 1, date.getUTCDay()];
  return fields.every((field, i) => fieldMatches(field, values[i]!, FIELD_RANGES[i]!));
}
