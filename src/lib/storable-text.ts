/**
 * Text Postgres can store as it was sent. It refuses NUL characters in text and jsonb, and drivers
 * turn a lone UTF-16 surrogate (`"\ud800"`, invalid Unicode) into U+FFFD or jsonb refuses it:
 * either a 500 or a silent rewrite, so such text is refused at the contract instead.
 */
const LONE_SURROGATE = /\p{Cs}/u;

export function unstorableText(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (LONE_SURROGATE.test(value)) return 'contains a lone UTF-16 surrogate (invalid Unicode), which cannot be stored';
  return undefined;
}

const encoder = new TextEncoder();
const NON_ASCII = /[^\u0000-\u007f]/;
/** Bytes of `value` in UTF-8; text in ASCII (most of what clients send) is counted without encoding it. */
export const utf8Length = (value: string) => (NON_ASCII.test(value) ? encoder.encode(value).length : value.length);
