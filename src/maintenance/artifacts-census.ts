/**
 * What the backup manifest says of the ARTIFACTS bucket, which backups don't copy (R2 keeps it):
 * objects and bytes per project, listed when the backup finished. Restoring, an operator compares
 * it with the bucket — files the restored rows refer to are under `<project>/<commit>/<batch id>/`
 * of those rows; objects beyond are orphans of outputs created after the backup. A bucket listing
 * is paginated (1000 keys a call) and a Worker invocation has a bounded number of subrequests: the
 * census stops after `maxPages` and says where (`complete: false`, `lastKey`), so an operator can
 * list on from there (`startAfter`).
 */
import type { ObjectStore } from '../lib/object-store';

export interface ArtifactsCensus {
  listedAt: string;
  objects: number;
  bytes: number;
  /** Per project id (the key's part before `/<commit>/<batch id or "artifacts">/`); keys of no output under `""`. */
  projects: Record<string, { objects: number; bytes: number }>;
  /** Whether every object was counted. */
  complete: boolean;
  /** The last key counted, when the census stopped before the end. */
  lastKey?: string;
}

/** Pages listed at most: 20 calls, 20,000 objects. */
export const CENSUS_MAX_PAGES = 20;
const PAGE = 1000;
const PROJECT_OF_KEY = /^(.+?)\/[0-9a-f]{4,64}\/(?:\d{1,10}|artifacts)\//i;

export async function artifactsCensus(store: ObjectStore, now: () => Date, maxPages = CENSUS_MAX_PAGES): Promise<ArtifactsCensus> {
  const listedAt = now().toISOString();
  // A Map: keys are whatever was uploaded (`__proto__/…` included).
  const projects = new Map<string, { objects: number; bytes: number }>();
  let objectCount = 0;
  let bytes = 0;
  let startAfter: string | undefined;
  const census = (complete: boolean): ArtifactsCensus => ({
    listedAt,
    objects: objectCount,
    bytes,
    projects: Object.fromEntries(projects),
    complete,
    ...(!complete && startAfter !== undefined && { lastKey: startAfter }),
  });
  for (let page = 0; page < maxPages; page++) {
    const { objects, more } = await store.listPage({ startAfter, limit: PAGE });
    for (const object of objects) {
      const id = PROJECT_OF_KEY.exec(object.key)?.[1] ?? '';
      const project = projects.get(id) ?? { objects: 0, bytes: 0 };
      projects.set(id, { objects: project.objects + 1, bytes: project.bytes + object.size });
      objectCount += 1;
      bytes += object.size;
    }
    startAfter = objects.at(-1)?.key ?? startAfter;
    if (!more) return census(true);
  }
  return census(false);
}
