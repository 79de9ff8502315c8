/**
 * An error and its causes on one line, for logs. Drivers wrap the database's own message (the cause,
 * e.g. `relation "projects" does not exist`) in an error that names only the SQL it ran.
 */
export function describeError(error: unknown): string {
  const messages: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    messages.push(String(current));
    current = (current as { cause?: unknown }).cause;
  }
  return messages.join(' ← caused by: ');
}
