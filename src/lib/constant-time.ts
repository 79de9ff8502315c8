/**
 * Compares secrets without leaking, through timing, how much of a guess was right: both sides are
 * hashed to equal-length SHA-256 digests, and every byte is compared whatever the differences.
 */
import { sha256 } from './digest';

export async function constantTimeEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
