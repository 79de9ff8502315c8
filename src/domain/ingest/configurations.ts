/**
 * qatools' `deserialize_config`: old clients send configurations as one `:`-separated string in
 * which JSON objects may appear (`base:{"gain": 2}`); `-` means none.
 */
export function deserializeConfiguration(configuration: string): unknown[] {
  if (configuration === '-') return [];
  const configurations: unknown[] = [];
  let pending = '';
  for (const token of configuration.split(':')) {
    if (!pending && !token.startsWith('{')) {
      configurations.push(token);
      continue;
    }
    pending = pending ? `${pending}:${token}` : token;
    try {
      configurations.push(JSON.parse(pending));
      pending = '';
    } catch {
      // Not complete JSON yet: keep accumulating until the braces balance.
      if (count(pending, '{') === count(pending, '}')) {
        configurations.push(pending);
        pending = '';
      }
    }
  }
  if (pending) configurations.push(pending);
  return configurations;
}

const count = (text: string, ch: string) => text.split(ch).length - 1;
