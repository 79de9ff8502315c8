/**
 * `/api/docs`: the interactive API reference (Scalar) over `/api/openapi.json`. The page loads Scalar's
 * pinned standalone bundle from this app — never from a CDN — so the docs work on instances behind a
 * firewall or offline. Workers serve the bundle as a static asset (wrangler.jsonc `assets`, written by
 * scripts/worker-assets.ts); the Node entry serves the same file (src/lib/api-reference-assets.ts).
 */
import { Scalar } from '@scalar/hono-api-reference';

/** Where the app serves `@scalar/api-reference`'s standalone bundle. */
export const SCALAR_BUNDLE_PATH = '/api/docs/scalar.js';

export const apiReferencePage = (specUrl: string) =>
  Scalar({
    url: specUrl,
    cdn: SCALAR_BUNDLE_PATH,
    pageTitle: 'QA-Board Edge API',
    // A few dozen operations: list them all in the sidebar.
    defaultOpenAllTags: true,
    // Scalar's default fonts come from its own host: use the system fonts instead.
    withDefaultFonts: false,
    // Features served by Scalar's cloud (AI agent, SDK generation): off, as on hosts other than localhost.
    agent: { disabled: true },
    showDeveloperTools: 'never',
    telemetry: false,
  });
