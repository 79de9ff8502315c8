/**
 * The text of a URL — path segments, query names and values — must be storable and comparable as
 * sent: a NUL (`%00`) or bytes that aren't UTF-8 (`%ff`, an encoded lone surrogate) would reach
 * Postgres as a 500, or be replaced with U+FFFD. Refused up front with a 400 naming the parameter.
 */
import type { MiddlewareHandler } from 'hono';
import { invalidFields, type FieldError } from './problem';
import { unstorableText } from './storable-text';

function decodedProblem(raw: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return 'is not valid UTF-8 once percent-decoded';
  }
  return unstorableText(decoded);
}

/** Problems of the raw URL's path and query, each named by where it is (`path`, `query.<name>`). */
export function urlTextProblems(url: string): FieldError[] {
  const { pathname, search } = new URL(url);
  const errors: FieldError[] = [];
  const pathProblem = pathname.split('/').map(decodedProblem).find(Boolean);
  if (pathProblem) errors.push({ field: 'path', message: pathProblem });
  for (const pair of search.slice(1).split('&').filter(Boolean)) {
    const [rawName = '', rawValue = ''] = pair.split(/=(.*)/s);
    const nameProblem = decodedProblem(rawName);
    const name = nameProblem ? rawName : decodeURIComponent(rawName.replaceAll('+', ' '));
    const problem = nameProblem ?? decodedProblem(rawValue);
    if (problem) errors.push({ field: `query.${name}`, message: problem });
  }
  return errors;
}

/**
 * Printable ASCII but `%`: decoding changes nothing but `+`, and none of it is unstorable — the URL of
 * nearly every request, answered without parsing it.
 */
const PLAIN_URL = /^[\x21-\x24\x26-\x7e]*$/;

export const checkUrlText: MiddlewareHandler = async (c, next) => {
  if (PLAIN_URL.test(c.req.url)) return next();
  const errors = urlTextProblems(c.req.url);
  if (errors.length) throw invalidFields(errors);
  return next();
};
