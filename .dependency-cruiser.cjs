/**
 * The layers of src/ point one way (CI: `npm run check:layers`):
 *   lib (generic HTTP and infrastructure helpers) ← db ← domain ← auth, gitlab, jobs, maintenance ← routes ← app ← entries.
 * `lib/types.ts` names the services every layer above shares: it may import their *types* only.
 */
const UPPER_LAYERS = '^src/(auth|db|domain|gitlab|jobs|maintenance|routes|app|node-app|node|worker)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make layers meaningless and modules hard to load alone.', from: {}, to: { circular: true } },
    {
      name: 'lib-is-the-bottom-layer',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { path: UPPER_LAYERS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'lib-types-only-from-lib-types',
      severity: 'error',
      comment: 'Only lib/types.ts may name upper layers, and only their types.',
      from: { path: '^src/lib/', pathNot: '^src/lib/types[.]ts$' },
      to: { path: UPPER_LAYERS },
    },
    { name: 'db-below-domain', severity: 'error', from: { path: '^src/db/' }, to: { path: '^src/(auth|domain|gitlab|jobs|maintenance|routes|app|node|worker)' } },
    { name: 'domain-below-its-users', severity: 'error', from: { path: '^src/domain/' }, to: { path: '^src/(auth|gitlab|jobs|maintenance|routes|app|node|worker)' } },
    { name: 'services-below-routes', severity: 'error', from: { path: '^src/(auth|gitlab|jobs|maintenance)/' }, to: { path: '^src/(routes|app|node-app|node|worker)' } },
    { name: 'routes-below-app', severity: 'error', from: { path: '^src/routes/' }, to: { path: '^src/(app|node-app|node|worker)' } },
    { name: 'entries-are-the-top', severity: 'error', from: { path: '^src/' }, to: { path: '^src/(node|worker)[.]ts$' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|\\.cache)' },
  },
};
