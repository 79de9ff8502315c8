/** Refuses deeply nested JSON bodies: every later walk over them (validation, jsonb) would pay for it. */
import type { MiddlewareHandler } from 'hono';
import type { AppBindings } from './create-app';
import { jsonBodyOf } from './json-body';
import { ApiError } from './problem';

/** Whether `value` nests deeper than `maxDepth` arrays/objects; iterative, so hostile input can't overflow the stack. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

export const limitJsonDepth: MiddlewareHandler<AppBindings> = async (c, next) => {
  const body = await jsonBodyOf(c);
  const max = c.var.config.maxJsonDepth;
  if (body !== undefined && nestsDeeperThan(body, max)) {
    throw new ApiError(400, 'Invalid request', `(body): JSON nests deeper than ${max} levels`, [
      { field: '(body)', message: `JSON nests deeper than ${max} levels` },
    ]);
  }
  return next();
};
