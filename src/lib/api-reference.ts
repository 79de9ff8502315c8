/**
 * `/api/docs`: the interactive API reference (Scalar) over `/api/openapi.json`. The page loads
 * Scalar's pinned bundle from a CDN, so the Worker ships no UI code.
 */
import type { Handler } from 'hono';

const SCALAR_BUNDLE = 'https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.76.0';

export const apiReferencePage =
  (specUrl: string): Handler =>
  (c) =>
    c.html(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>QA-Board Edge API</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="${SCALAR_BUNDLE}"></script>
    <script>Scalar.createApiReference('#app', { url: ${JSON.stringify(specUrl)} });</script>
  </body>
</html>`);
