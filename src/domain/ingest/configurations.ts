/**
 * qatools' `deserialize_config`: old clients send configurations as one `:`-separated string in
 * which JSON objects may appear (`base:{"gain": 2}`); `-` means none. A JSON part spans tokens
 * until it parses, or until its braces balance (then it is kept as a string, as qatools does).
 *
 * qatools tries to parse the growing part after every token, which is quadratic: 64 KB of `{:`
 * took half a minute. Here a JSON part is parsed at most twice — when its top-level value closes
 * (the only moment it can parse) and when its braces balance — so the work is linear.
 */
import { jsonBodyProblem } from '../../lib/json-body';

/** The most configurations one output may have, however they are sent. */
export const MAX_CONFIGURATIONS = 1_000;
/** How deep a JSON configuration may nest (the default depth of request bodies). */
const MAX_CONFIGURATION_DEPTH = 32;

/** Tracks a JSON part's structure across tokens, character by character, without re-reading. */
class JsonPart {
  private readonly tokens: string[] = [];
  private opened = 0;
  private closed = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Whether the top-level value closed within the last token appended. */
  closedInLastToken = false;
  private topLevelClosed = false;

  append(token: string) {
    this.closedInLastToken = false;
    if (this.tokens.length) this.scan(':');
    this.tokens.push(token);
    this.scan(token);
  }

  get text() {
    return this.tokens.join(':');
  }

  get bracesBalance() {
    return this.opened === this.closed;
  }

  private scan(chunk: string) {
    for (const ch of chunk) {
      if (ch === '{') this.opened++;
      else if (ch === '}') this.closed++;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
      } else if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if ((ch === '}' || ch === ']') && --this.depth === 0 && !this.topLevelClosed) {
        this.topLevelClosed = this.closedInLastToken = true;
      }
    }
  }
}

const parsed = (text: string): { value: unknown } | undefined => {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
};

export function deserializeConfiguration(configuration: string): unknown[] {
  if (configuration === '-') return [];
  const configurations: unknown[] = [];
  let part: JsonPart | undefined;
  for (const token of configuration.split(':')) {
    if (!part && !token.startsWith('{')) {
      configurations.push(token);
      continue;
    }
    part ??= new JsonPart();
    part.append(token);
    // The top-level value just closed (the only moment the part can be valid JSON), or the braces balance.
    const json = part.closedInLastToken || part.bracesBalance ? parsed(part.text) : undefined;
    if (json) configurations.push(json.value);
    else if (part.bracesBalance) configurations.push(part.text);
    else continue;
    part = undefined;
  }
  if (part) configurations.push(part.text);
  return configurations;
}

/**
 * Why the configurations parsed out of a legacy string can't be stored, if they can't: they get the
 * checks a JSON body gets (storable text, finite numbers, bounded depth) and the same count bound.
 */
export function legacyConfigurationProblem(configuration: string): string | undefined {
  const configurations = deserializeConfiguration(configuration);
  if (configurations.length > MAX_CONFIGURATIONS) return `holds ${configurations.length} configurations (at most ${MAX_CONFIGURATIONS})`;
  const problem = jsonBodyProblem(configurations, MAX_CONFIGURATION_DEPTH + 1);
  if (!problem) return undefined;
  const [index, ...path] = problem.field.split('.');
  const where = problem.field === '(body)' ? '' : `configuration ${Number(index) + 1}${path.length ? ` (at ${path.join('.')})` : ''}: `;
  return `${where}${problem.message}`;
}
