/** The backup manifest's census of the ARTIFACTS bucket: per project, and bounded (a page a call). */
import { describe, expect, test } from 'vitest';
import { artifactsCensus } from '../src/maintenance/artifacts-census';
import type { ObjectStore, StoredObjectInfo } from '../src/lib/object-store';

const sha = 'c0ffee'.repeat(6) + 'abcd';
const info = (key: string, size: number): StoredObjectInfo => ({ key, size, etag: '"x"', uploaded: new Date(0) });

/** A bucket of `count` one-byte objects of `group/repo`, then one of `sub/1234`, listed as R2 does (1000 at most a call). */
function bucket(count: number) {
  const objects = [
    ...Array.from({ length: count }, (_, i) => info(`group/repo/${sha}/7/${i}/f${String(i).padStart(6, '0')}.png`, 1)),
    info(`sub/1234/${sha}/artifacts/x`, 4),
  ].sort((a, b) => (a.key < b.key ? -1 : 1));
  const calls: (string | undefined)[] = [];
  const store = {
    async listPage({ startAfter, limit }: { startAfter?: string; limit: number }) {
      calls.push(startAfter);
      const after = objects.filter((o) => startAfter === undefined || o.key > startAfter);
      return { objects: after.slice(0, limit), more: after.length > limit };
    },
  } as unknown as ObjectStore;
  return { store, calls, objects };
}

describe('artifacts census', () => {
  test('counts objects and bytes per project id (the part before the commit)', async () => {
    const { store, calls } = bucket(2_500);
    const census = await artifactsCensus(store, () => new Date('2026-11-29T03:20:00Z'));
    expect(census).toEqual({
      listedAt: '2026-11-29T03:20:00.000Z',
      objects: 2_501,
      bytes: 2_504,
      projects: { 'group/repo': { objects: 2_500, bytes: 2_500 }, 'sub/1234': { objects: 1, bytes: 4 } },
      complete: true,
    });
    expect(calls).toHaveLength(3);
  });

  test('stops after its pages and says where, for an operator to list on', async () => {
    const { store, calls, objects } = bucket(2_500);
    const census = await artifactsCensus(store, () => new Date(0), 2);
    expect(calls).toHaveLength(2);
    expect(census).toMatchObject({ objects: 2_000, complete: false, lastKey: objects[1_999]!.key });
  });
});
