/**
 * Checks a JSON body before any route reads it:
 * - deep nesting is refused — every later walk over it (validation, jsonb) would pay for it;
 * - NUL characters (`\u0000`) are refused — Postgres can store them neither in text nor in jsonb,
 *   so they would otherwise surface as a 500 at the database.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppBindings } from './create-app';
import { jsonBodyOf } from './json-body';
import { ApiError, type FieldError } from './problem';

const NUL = '\u0000';
const NUL_MESSAGE = 'contains a NUL character (\\u0000), which cannot be stored';

/** The first problem of a parsed JSON value; iterative, so hostile input can't overflow the stack. */
export function jsonBodyProblem(value: unknown, maxDepth: number): FieldError | undefined {
  const stack: [unknown, number, string][] = [[value, 0, '']];
  while (stack.length) {
    const [node, depth, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes(NUL)) return { field: path || '(body)', message: NUL_MESSAGE };
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > maxDepth) return { field: '(body)', message: `JSON nests deeper than ${maxDepth} levels` };
    for (const [key, child] of Object.entries(node)) {
      const childPath = path ? `${path}.${key}` : key;
      if (key.includes(NUL)) return { field: childPath, message: `the key ${NUL_MESSAGE}` };
      stack.push([child, depth + 1, childPath]);
    }
  }
  return undefined;
}

export const checkJsonBody: MiddlewareHandler<AppBindings> = async (c, next) => {
  const body = await jsonBodyOf(c);
  const problem = body === undefined ? undefined : jsonBodyProblem(body, c.var.config.maxJsonDepth);
  if (problem) throw new ApiError(400, 'Invalid request', `${problem.field}: ${problem.message}`, [problem]);
  return next();
};
