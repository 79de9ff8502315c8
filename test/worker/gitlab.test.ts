/** The whole GitLab path inside workerd: webhook → Cloudflare queue → consumer → Postgres (Neon driver). */
import { exports } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import pushEvent from '../fixtures/gitlab/push-event.json';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const call = (path: string, init?: RequestInit) => worker.fetch(new Request(`http://qaboard.test${path}`, init));
const postPush = (path: string, token: string) =>
  call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-token': token, 'x-gitlab-event': 'Push Hook' },
    body: JSON.stringify(pushEvent),
  });

test('a push becomes three projects and their commits, through the queue', async () => {
  const response = await postPush('/webhook/gitlab', 'worker-test-secret');
  expect(response.status).toBe(202);

  // The consumer runs after the queue's batch timeout: poll what the web app would read.
  let projects: Record<string, unknown> = {};
  for (let i = 0; i < 60 && !('vision/isp-pipeline/hdr' in projects); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const hdr = await call('/api/v1/project?project=vision%2Fisp-pipeline%2Fhdr');
    if (hdr.status === 200) projects = (await (await call('/api/v1/projects')).json()) as Record<string, unknown>;
  }
  // (other worker tests share the database: look at this repository's projects)
  expect(Object.keys(projects).filter((id) => id.startsWith('vision/')).sort()).toEqual(['vision/isp-pipeline', 'vision/isp-pipeline/denoise', 'vision/isp-pipeline/hdr']);
  const hdr = (await (await call('/api/v1/project?project=vision%2Fisp-pipeline%2Fhdr')).json()) as Record<string, any>;
  expect(hdr.qatools_config.outputs.metrics).toBe('hdr/qa/metrics.yaml');
  expect(hdr.qatools_metrics.available_metrics).toHaveProperty('ssim');
  const branches = await (await call('/api/v1/project/branches?project=vision%2Fisp-pipeline%2Fdenoise')).json();
  expect(branches).toEqual(['feature/denoise-v2']);
});

test('a wrong webhook token is refused inside the Worker too', async () => {
  const response = await postPush('/api/v1/webhook/gitlab', 'nope');
  expect(response.status).toBe(401);
});
