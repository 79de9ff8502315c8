/** qatools' `slugify_hash`, whose answers are kept: a kept answer is the one it would compute. */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { pythonJsonDumps, slugifyHash } from '../src/domain/storage-locations';

const md5Prefix = (text: string) => createHash('md5').update(text).digest('hex').slice(0, 8);

describe('slugifyHash', () => {
  test('a string and a value written as that same text hash different texts, asked in either order and again', () => {
    const value = ['base', { gain: 2, path: 'some/long/folder' }];
    const text = pythonJsonDumps(value);
    for (const order of [[value, text], [text, value]] as const) {
      for (const asked of [...order, ...order]) {
        const hashed = typeof asked === 'string' ? JSON.stringify(asked) : text;
        expect(slugifyHash(asked, 16)).toBe(`${md5Prefix(hashed)}-older`); // the text's last 8 characters, `older"}]`, slugified
      }
    }
    expect(slugifyHash(value, 16)).not.toBe(slugifyHash(text, 16));
  });

  test('the same text at another length is sliced to that length', () => {
    const value = { input: 'a/very/long/path/to/an/input/file' };
    expect(slugifyHash(value, 16)).not.toBe(slugifyHash(value, 32));
    expect(slugifyHash(value, 32).startsWith(md5Prefix(pythonJsonDumps(value)))).toBe(true);
  });
});
