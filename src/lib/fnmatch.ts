/**
 * Python's shell-style wildcards, as fnmatch reads them, matched in linear time (RE2) so that no
 * pattern sent by a user can stall the server. `[…]` and `[!…]` are character classes (a `]` first
 * is a member, `\` is literal), a `[` that isn't closed is literal; everything else matches itself.
 * Whole-text matches, case-sensitive (POSIX `fnmatch.fnmatch`). `*` and `?` match any character,
 * `/` included; `withinFolder` keeps them (and negated classes) inside one path segment, as `glob.glob`
 * (non-recursive) does. A pattern RE2 refuses (a reversed range `[z-a]`…) throws `InvalidPattern`.
 */
import { linearRegExp, type LinearRegExp } from './linear-regexp';

const escapeForRegExp = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

export function fnmatchPattern(pattern: string, { withinFolder = false } = {}): LinearRegExp {
  const any = withinFolder ? '[^/]' : '(?s:.)';
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') source += `${any}*`;
    else if (ch === '?') source += any;
    else if (ch !== '[') source += escapeForRegExp(ch);
    else {
      let end = i + 1;
      if (pattern[end] === '!') end++;
      if (pattern[end] === ']') end++;
      end = pattern.indexOf(']', end);
      if (end < 0) {
        source += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      source += `[${negated ? (withinFolder ? '^/' : '^') : ''}${(negated ? body.slice(1) : body).replace(/[\\^[\]]/g, '\\$&')}]`;
      i = end;
    }
  }
  return linearRegExp(`^${source}$`);
}
