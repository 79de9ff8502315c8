/**
 * The domain's identifiers as contract fields, each bounded so that every index it is part of
 * stays within Postgres' btree entry limit (see lib/fields.ts). One definition per concept, for
 * uploads, queries and paths alike.
 */
import { boundedText } from '../lib/fields';
import { unstorableText } from '../lib/storable-text';

/** `group/repo`, or `group/repo/sub/dir` for a monorepo sub-project. */
export const projectId = () => boundedText(512).openapi({ example: 'group/repo' });
export const batchLabel = () => boundedText(1024).openapi({ example: 'default' });
export const branchName = () => boundedText(1024).openapi({ example: 'master' });
/** A test input is (database, path): together they must fit one index entry with the project. */
export const inputDatabase = () => boundedText(1024).openapi({ example: '/mnt/datasets/isp' });
export const inputPath = () => boundedText(1024).openapi({ example: 'scenes/night/0001.dng' });
export const platformName = () => boundedText(256).openapi({ example: 'linux' });

/** A metric name to aggregate: cached per batch under its name (an index key). */
export const METRIC_NAME_MAX_BYTES = 256;
export function metricNameProblem(name: string): string | undefined {
  if (!name) return 'metric names must not be empty';
  if (new TextEncoder().encode(name).length > METRIC_NAME_MAX_BYTES) return `metric names must be at most ${METRIC_NAME_MAX_BYTES} bytes`;
  return unstorableText(name);
}
