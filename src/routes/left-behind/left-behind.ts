/**
 * Routes of the original API left behind on purpose: they read and wrote a shared disk, ran numpy
 * on image files, or relayed requests with the server's credentials to anywhere. The web app still
 * calls them: they answer 501 with why and what to use instead — never "No route".
 * (Not OpenAPI operations: they have no success to document. Access control applies as to any route.)
 */
import type { Hono } from 'hono';
import { ApiError } from '../../lib/problem';
import type { AppBindings } from '../../lib/types';

interface LeftBehind {
  methods: ('GET' | 'POST')[];
  /** Hono pattern; `*` covers the sub-routes. */
  path: string;
  why: string;
  instead: string;
}

export const LEFT_BEHIND: LeftBehind[] = [
  {
    methods: ['GET'],
    path: '/api/v1/export',
    why: "it hard-linked a comparison's output files into a folder of the shared disk, which this API has no access to",
    instead: "open the outputs from the web app, or copy them from your storage: each output's folder is its `output_dir_url`",
  },
  {
    methods: ['GET', 'POST'],
    path: '/api/v1/output/image/*',
    why: 'pixel values were read with numpy from image files on the shared disk',
    instead: "read pixel values in the browser from the image itself (the image server or the output's files)",
  },
  {
    methods: ['GET', 'POST'],
    path: '/api/v1/output/diff/*',
    why: 'automatic crops and PDF reports were computed with scikit-image and matplotlib from files on the shared disk',
    instead: "compare images side by side in the web app's viewer, or compute diffs in CI and upload them as output files",
  },
  {
    methods: ['POST'],
    path: '/api/v1/jenkins/*',
    why: "it triggered and polled Jenkins builds with the server's Jenkins credentials",
    instead: "trigger Jenkins from your CI, or link to the job's page (an integration with an `href`); GitLab CI runs go through run requests (`/api/v1/run-requests`)",
  },
  {
    methods: ['POST'],
    path: '/api/v1/webhook/proxy',
    why: 'it relayed any request to any URL from the server (an open proxy)',
    instead: 'call the webhook from the browser (when it allows CORS) or from CI; integrations with an `href` open their link directly',
  },
];

/** Registers each left-behind route (with and without a trailing slash: see lib/routing-path.ts). */
export function mountLeftBehind(app: Hono<AppBindings>) {
  for (const route of LEFT_BEHIND) {
    app.on(route.methods, route.path, (c) => {
      throw new ApiError(501, `${c.req.method} ${c.req.path} is not available in QA-Board Edge: ${route.why}. Instead, ${route.instead}.`);
    });
  }
}
