/**
 * The JSON body of a write, read and checked once before any route uses it, then served from
 * memory to every validator (Hono would otherwise parse it again on each `c.req.json()`):
 * - it must be UTF-8: invalid bytes are refused, not replaced with U+FFFD;
 * - deep nesting is refused — every later walk over it (validation, jsonb) would pay for it;
 * - strings and keys must be storable (no NUL, no lone surrogate: see storable-text.ts), and
 *   numbers finite (`1e309` parses as Infinity, which would be stored as null);
 * - no `__proto__` key, which every later merge or validator would take for a prototype (see
 *   prototype-keys.ts).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { invalidField, type FieldError } from './problem';
import { PROTOTYPE_KEY } from './prototype-keys';
import { unstorableText } from './storable-text';

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const PARSED = Symbol('parsed JSON body');

type WithParsedBody = Context & { [PARSED]?: unknown };

export const hasJsonBody = (c: Context) =>
  c.req.method !== 'GET' && c.req.method !== 'HEAD' && JSON_TYPE.test(c.req.header('content-type') ?? '');

/** The first problem of a parsed JSON value; iterative, so hostile input can't overflow the stack. */
export function jsonBodyProblem(value: unknown, maxDepth: number): FieldError | undefined {
  const stack: [unknown, number, string][] = [[value, 0, '']];
  while (stack.length) {
    const [node, depth, path] = stack.pop()!;
    const field = path || '(body)';
    if (typeof node === 'string') {
      const problem = unstorableText(node);
      if (problem) return { field, message: problem };
      continue;
    }
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) return { field, message: 'is a number too large to store (it must be finite)' };
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > maxDepth) return { field: '(body)', message: `JSON nests deeper than ${maxDepth} levels` };
    for (const [key, child] of Object.entries(node)) {
      const childPath = path ? `${path}.${key}` : key;
      const problem = unstorableText(key);
      if (problem) return { field: childPath, message: `the key ${problem}` };
      if (key === PROTOTYPE_KEY) return { field: childPath, message: `${PROTOTYPE_KEY} is not allowed as a key` };
      stack.push([child, depth + 1, childPath]);
    }
  }
  return undefined;
}

/**
 * A number that may overflow a double: written with an exponent, or with 309 digits or more
 * (Number.MAX_VALUE has 309). A number follows `:`, `[` or `,`, or starts the text; the same
 * characters inside a string only make the check look closer.
 */
const NUMBER_THAT_MAY_OVERFLOW = /(?:^|[:[,])\s*-?(?:\d{309}|\d+(?:\.\d+)?[eE])/;

/**
 * Whether JSON `text`, decoded as strict UTF-8, is sure to parse to a value in which `jsonBodyProblem`
 * finds nothing — checked on the text, ~30× faster than walking the value (which a typical upload
 * passes: its walk was ~2% of the server's CPU per upload). No `\u` escape: only an escape can spell
 * a NUL or a lone surrogate (strict UTF-8 decodes to neither), or hide a `__proto__` key. No number
 * that may overflow. No more `{` and `[` than `maxDepth`: no deeper nesting then. A false answer
 * only means the value is walked.
 */
export function plainJsonText(text: string, maxDepth: number): boolean {
  if (text.includes('\\u') || text.includes(PROTOTYPE_KEY) || NUMBER_THAT_MAY_OVERFLOW.test(text)) return false;
  let containers = 0;
  for (const opening of ['{', '[']) {
    for (let at = text.indexOf(opening); at !== -1; at = text.indexOf(opening, at + 1)) if (++containers > maxDepth) return false;
  }
  return true;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Reads, checks and parses the body (400 naming the field when it can't be stored as sent). */
async function parseStrictJson(c: Context, maxDepth: number): Promise<unknown> {
  const bytes = await c.req.arrayBuffer(); // throws the body limit's 413 when it trips while reading
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw invalidField('(body)', 'is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidField('(body)', `is not valid JSON (${(error as Error).message})`);
  }
  if (plainJsonText(text, maxDepth)) return value;
  const problem = jsonBodyProblem(value, maxDepth);
  if (problem) throw invalidField(problem.field, problem.message);
  return value;
}

/** Checks a JSON body and makes every later `c.req.json()` answer the parsed value. */
export const checkJsonBody =
  (maxDepth: (c: Context) => number): MiddlewareHandler =>
  async (c, next) => {
    if (!hasJsonBody(c)) return next();
    const value = await parseStrictJson(c, maxDepth(c));
    (c as WithParsedBody)[PARSED] = value;
    c.req.json = (() => Promise.resolve(value)) as typeof c.req.json;
    return next();
  };

/** The body checked by `checkJsonBody`; `undefined` when the request has no JSON body. */
export const jsonBodyOf = (c: Context): unknown => (c as WithParsedBody)[PARSED];
