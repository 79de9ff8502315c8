/**
 * Static paths win over parameters. Hono answers with the first registered route that matches, so
 * a route with a parameter registered before a static route it also matches would shadow it —
 * as `POST /api/v1/commit/{id}` once caught `POST /api/v1/commit/save-artifacts/` and answered
 * "id: must be a hexadecimal commit id". The app checks its routes when it is built: a shadowed
 * static route is a programming error that fails every test, not a 400 in production.
 */
interface RegisteredRoute {
  method: string;
  path: string;
}

const isVariable = (segment: string | undefined) => segment !== undefined && (segment.startsWith(':') || segment === '*');

/** Whether some path matches both patterns (segment by segment; `*` matches the rest). */
function overlap(a: string[], b: string[]): boolean {
  for (let i = 0; ; i++) {
    if (a[i] === '*' || b[i] === '*') return true;
    if (a[i] === undefined || b[i] === undefined) return a[i] === b[i];
    if (a[i] !== b[i] && !isVariable(a[i]) && !isVariable(b[i])) return false;
  }
}

/** Whether `earlier` catches requests meant for `later`: at their first real difference, `earlier` has a parameter where `later` is static. */
function shadows(earlier: string[], later: string[]): boolean {
  if (!overlap(earlier, later)) return false;
  const difference = earlier.findIndex((segment, i) => segment !== later[i] && !(isVariable(segment) && isVariable(later[i])));
  return difference !== -1 && isVariable(earlier[difference]) && later[difference] !== undefined && !isVariable(later[difference]);
}

export function assertStaticRoutesWin(routes: RegisteredRoute[]): void {
  // Middleware is registered for every method (ALL): only routes answer.
  const answering = routes.filter((r) => r.method !== 'ALL').map((r) => ({ ...r, segments: r.path.split('/').filter(Boolean) }));
  const problems = new Set<string>();
  answering.forEach((earlier, i) => {
    for (const later of answering.slice(i + 1)) {
      if (later.method !== earlier.method) continue;
      if (shadows(earlier.segments, later.segments)) {
        problems.add(`${later.method} ${later.path} is shadowed by ${earlier.method} ${earlier.path}, registered before it`);
      }
    }
  });
  if (problems.size) throw new Error(`Register static routes before the routes with parameters that match them:\n${[...problems].join('\n')}`);
}
