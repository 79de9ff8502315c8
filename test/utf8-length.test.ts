import { expect, test } from 'vitest';
import { utf8Length } from '../src/lib/storable-text';

test('utf8Length counts what TextEncoder writes, ASCII or not', () => {
  const encoded = (text: string) => new TextEncoder().encode(text).length;
  for (const text of ['', 'inputs/0001.jpg', '\u007f', 'é', 'naïve/€', '日本語', 'emoji 😀', `{"k":"${'x'.repeat(1000)}é"}`]) {
    expect(utf8Length(text), text).toBe(encoded(text));
  }
});
