/** Requests captured from the real qa CLI, and what the original Flask backend answered to them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Copied from the team's shared/fixtures so the repository's tests stand alone. */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');

export interface CapturedRequest {
  method: 'GET' | 'POST';
  path: string;
  raw_query: string;
  headers: Record<string, string>;
  json: Record<string, unknown> | null;
}
export interface OriginalResponse {
  i: number;
  status: number;
  response: unknown;
}

const readJsonLines = <T>(file: string): T[] =>
  readFileSync(path.join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as T);

export const qatoolsRequests = () => readJsonLines<CapturedRequest>('qatools/qatools-requests.jsonl');
export const originalResponses = () => readJsonLines<OriginalResponse>('qatools/original-backend-responses.jsonl');

let outputUploadTemplate: Record<string, unknown> | undefined;

/** One captured `POST /api/v1/output/` body, as a template for tests (a copy of it: read once, not once per upload built). */
export function sampleOutputUpload(): Record<string, unknown> {
  outputUploadTemplate ??= qatoolsRequests().find((r) => r.method === 'POST' && r.path === '/api/v1/output/')!.json!;
  return structuredClone(outputUploadTemplate);
}
