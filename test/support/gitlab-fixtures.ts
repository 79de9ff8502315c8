/**
 * The monorepo of test/fixtures/gitlab/push-event.json (`vision/isp-pipeline`): QA-Board configs at
 * the root, in `denoise/` and in `hdr/`, and enough other files for the tree to span two pages.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FakeRepository } from './fake-gitlab';

export const pushEventBody = () =>
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/gitlab/push-event.json'), 'utf8')) as Record<string, any>;

export const HEAD_SHA = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';
export const PARENT_SHA = 'b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327';

export const ROOT_CONFIG = `project:
  name: vision/isp-pipeline
  reference_branch: master
inputs:
  database:
    linux: /mnt/datasets/isp
  batches: [qa/batches.yaml]
outputs:
  metrics: qa/metrics.yaml
storage: /mnt/qaboard
`;

export function ispPipelineRepository(): FakeRepository {
  const sourceFiles = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`src/module_${String(i).padStart(3, '0')}.py`, '']));
  return {
    path: 'vision/isp-pipeline',
    files: {
      ...sourceFiles,
      'qaboard.yaml': ROOT_CONFIG,
      'qa/metrics.yaml': 'available_metrics:\n  psnr: {label: PSNR, smaller_is_better: false}\n',
      'denoise/qaboard.yaml': 'inputs:\n  batches: [denoise/qa/batches.yaml]\n',
      'denoise/filters.py': '',
      'hdr/qaboard.yaml': 'outputs:\n  metrics: hdr/qa/metrics.yaml\n',
      'hdr/qa/metrics.yaml': 'available_metrics:\n  ssim: {label: SSIM, target: 0.9}\n',
    },
    commits: {
      [HEAD_SHA]: {
        message: 'Add metrics for the HDR sub-project\n\nAlso lowers the SSIM target.',
        author_name: 'Grace Hopper',
        author_email: 'grace@example.com',
        authored_date: '2026-11-20T10:47:55.000+01:00',
        parent_ids: [PARENT_SHA],
        branches: ['feature/denoise-v2'],
      },
      [PARENT_SHA]: {
        message: 'Tune the bilateral filter radius\n',
        author_name: 'Ada Lovelace',
        author_email: 'ada@example.com',
        authored_date: '2026-11-20T09:12:03.000+01:00',
        parent_ids: [],
        branches: ['master', 'feature/denoise-v2'],
      },
    },
  };
}

/** A repository without QA-Board configs in it, whose commits regression verdicts are posted to. */
export function gateRepository(): FakeRepository {
  const commit = { message: 'x', author_name: 'Ada Lovelace', authored_date: '2026-11-20T10:00:00Z', parent_ids: [], branches: [] };
  return { path: 'worker/gate', files: {}, commits: { [PARENT_SHA]: commit, [HEAD_SHA]: commit } };
}
