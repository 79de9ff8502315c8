/**
 * Regular expressions written by users (the web app's output filter, qaboard.yaml's globs) run on
 * RE2's engine, in time linear in the text: V8's backtracking engine takes exponential time on
 * patterns like `(a+)+$`, and one such request would stall every other one on the event loop.
 * RE2 reads the syntax the original's Python `re` and the web app's JavaScript share (classes,
 * `\d\w\s\b`, groups, named groups, `{m,n}` up to 1000) and refuses what can't run in linear time:
 * backreferences and lookarounds.
 */
import { RE2JS } from 're2js';

/** A pattern RE2 can't compile; the message says what and where. */
export class InvalidPattern extends Error {}

export interface LinearRegExp {
  /** Whether the pattern matches somewhere in `text` (as `RegExp.test`, Python's `re.search`). */
  test(text: string): boolean;
}

export function linearRegExp(pattern: string): LinearRegExp {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    throw new InvalidPattern((error as Error).message.replace(/^error parsing regexp: /, ''));
  }
}
