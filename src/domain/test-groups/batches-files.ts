/**
 * Batches files — the YAML that `qa batch --batches-file` reads: named batches of test inputs with
 * their configurations, `aliases` (or `groups`) naming lists of batches, a default `database` —
 * as qatools reads them (qaboard/iterators.py). Two uses:
 * - tuning: the commit's batches files and the project's stored groups merged into the one file a
 *   pipeline runs (`tuningBatchesYaml`);
 * - the tuning form's preview: a group expanded into its tests (`expandGroup`), without the data
 *   disk — inputs are listed as written; folders and wildcards are left for `qa batch` in CI.
 * Files are parsed as YAML 1.1 with repeated keys allowed (the last wins), as PyYAML does; YAML
 * written for the qa CLI is YAML 1.1 too, so that strings like `yes` stay strings. `__proto__` keys
 * are dropped as the files are parsed (see prototype-keys.ts).
 */
import { stringify } from 'yaml';
import { parseBoundedYaml } from '../../lib/bounded-yaml';
import { ownValue } from '../../lib/prototype-keys';

type Json = Record<string, unknown>;

export interface BatchesFile {
  /** Where it comes from (a path in the repository, or a stored group's name), for messages. */
  name: string;
  text: string;
}

/** A batches file `qa batch` could not use (invalid YAML, not a mapping, an unknown input type): fixing it is the user's part. */
export class BatchesFileError extends Error {}

export interface TestRun {
  input_path: string;
  configurations: unknown[];
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const CONFIGURATION_KEYS = ['configs', 'configurations', 'configuration'] as const;
const NOT_BATCHES = new Set(['database', 'aliases', 'groups']);

export const parseYaml11 = (text: string): unknown => parseBoundedYaml(text, { version: '1.1', uniqueKeys: false });
export const stringifyYaml11 = (value: unknown): string => stringify(value, { version: '1.1' });

function flatten(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flatMap(flatten) : [value];
}

/** The first configuration key a mapping has (`configs`, `configurations`, `configuration`). */
function configurationsOf(mapping: Json): unknown {
  const key = CONFIGURATION_KEYS.find((k) => k in mapping);
  return key === undefined ? undefined : mapping[key];
}

/**
 * How far a group may grow: qatools' 10 levels of aliases, and at most this many tests (or batch
 * names) — a few aliases that repeat each other, or a matrix of a few long lists, would otherwise
 * multiply into billions and take the server's memory.
 */
export const MAX_ALIAS_DEPTH = 10;
export const MAX_GROUP_TESTS = 10_000;
/** …and at most this much JSON: 10,000 tests sharing one long list of configurations are still one answer. */
export const MAX_GROUP_BYTES = 16 * 1024 * 1024;

const tooLarge = (group: string, what: string) =>
  new BatchesFileError(`The group ${group} expands to more than ${MAX_GROUP_TESTS.toLocaleString('en')} ${what}: split it, or give the tuning a smaller group`);

/**
 * Batch names behind `names`, through aliases (as qatools: at most 10 levels). A cycle (`a: [b]`,
 * `b: [a]`) made qatools recurse until it crashed: here it is an error naming the aliases.
 */
export function resolveAliases(names: unknown, aliases: Json): string[] {
  const resolved: string[] = [];
  const visit = (value: unknown, path: string[]) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, path);
      return;
    }
    const name = String(value);
    if (!Object.hasOwn(aliases, name)) {
      if (resolved.push(name) > MAX_GROUP_TESTS) throw tooLarge(path[0] ?? name, 'batches');
      return;
    }
    if (path.includes(name)) throw new BatchesFileError(`The aliases of ${path[0]} never end: ${[...path, name].join(' → ')}`);
    if (path.length >= MAX_ALIAS_DEPTH) throw new BatchesFileError(`The aliases of ${path[0]} nest deeper than ${MAX_ALIAS_DEPTH} levels: ${[...path, name].join(' → ')}`);
    visit(aliases[name], [...path, name]);
  };
  visit(names, []);
  return resolved;
}

/** qatools' deep merge of batches files: mappings merge, other values are replaced; a list holding `super` splices in the previous value. */
function mergeInto(target: Json, source: Json): Json {
  for (const [key, value] of Object.entries(source)) {
    const current = ownValue(target, key);
    if (isObject(value)) {
      target[key] = mergeInto(isObject(current) ? current : {}, value);
    } else if (Array.isArray(value) && value.includes('super')) {
      const previous = Array.isArray(current) ? current : [];
      target[key] = value.flatMap((item) => (item === 'super' ? previous : [item]));
    } else {
      target[key] = value;
    }
  }
  return target;
}

/** The parsed mapping of a file; null for an empty one. Anything else is an error naming the file. */
function parseFile(file: BatchesFile): Json | null {
  let value: unknown;
  try {
    value = parseYaml11(file.text);
  } catch (error) {
    throw new BatchesFileError(`${file.name} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return null;
  if (!isObject(value)) throw new BatchesFileError(`${file.name} must be a mapping of batches`);
  return value;
}

const aliasesOf = (mapping: Json): Json => {
  const aliases = mapping.aliases ?? mapping.groups;
  return isObject(aliases) ? aliases : {};
};

/**
 * The batches file a tuning pipeline runs: every file merged in order (later ones win), keeping
 * only the aliases, the default database and the batches `selectedGroup` resolves to — as the
 * original wrote it next to the batch.
 */
export function tuningBatchesYaml(files: BatchesFile[], selectedGroup: string): string {
  const merged = files.reduce((accumulated, file) => mergeInto(accumulated, parseFile(file) ?? {}), {} as Json);
  const wanted = new Set(['aliases', 'groups', 'database', ...resolveAliases(selectedGroup, aliasesOf(merged))]);
  return stringifyYaml11(Object.fromEntries(Object.entries(merged).filter(([key]) => wanted.has(key))));
}

/** qatools' input settings of a type: `inputs`, overridden by `inputs.types.<type>`. */
function inputSettings(type: string, config: Json): Json {
  const inputs = isObject(config.inputs) ? config.inputs : {};
  const types = isObject(inputs.types) ? inputs.types : {};
  if (type !== 'default' && !(type in types)) throw new BatchesFileError(`Unknown input type <${type}>. It is not defined in your qaboard.yaml`);
  const settings: Json = { ...inputs, ...(isObject(types[type]) ? types[type] : {}), type };
  settings.globs ??= settings.glob;
  return settings;
}

/** Batches available across files, as `qa batch` sees them: later files override earlier ones (see `allow_duplicate_batches`). */
function availableBatches(files: BatchesFile[], config: Json): { batches: Json; aliases: Json } {
  const batches: Json = {};
  let aliases: Json = {};
  const inputs = isObject(config.inputs) ? config.inputs : {};
  for (const file of files) {
    const mapping = parseFile(file);
    if (!mapping) continue;
    aliases = { ...aliases, ...aliasesOf(mapping) };
    for (const [name, value] of Object.entries(mapping)) {
      if (name.startsWith('.') || NOT_BATCHES.has(name)) continue;
      // A file's `database` is the default of its batches (pipelines have their own).
      const batch = isObject(value) && 'database' in mapping && !('database' in value) && value.type !== 'pipeline' ? { ...value, database: mapping.database } : value;
      if (!inputs.allow_duplicate_batches || (!Object.hasOwn(batches, name) && !Object.hasOwn(aliases, name))) {
        batches[name] = batch;
      } else if (!Object.hasOwn(aliases, name)) {
        aliases[name] = [`${name}_FIRST`, `${name}@${file.name}`];
        batches[`${name}_FIRST`] = batches[name];
        batches[`${name}@${file.name}`] = batch;
        delete batches[name];
      } else {
        aliases[name] = [...flatten(aliases[name]), `${name}@${file.name}`];
        batches[`${name}@${file.name}`] = batch;
      }
    }
  }
  return { batches, aliases };
}

/** sklearn's ParameterGrid: every combination, keys in sorted order; a list of grids is their union. Null past `limit` points. */
function parameterGrid(grid: unknown, limit: number): Json[] | null {
  if (Array.isArray(grid)) {
    const points: Json[] = [];
    for (const item of grid) {
      const more = parameterGrid(item, limit - points.length);
      if (more === null) return null;
      points.push(...more);
    }
    return points;
  }
  if (!isObject(grid)) return [];
  const axes = Object.keys(grid)
    .sort()
    .map((key) => [key, flatten([grid[key]])] as const);
  if (axes.reduce((size, [, values]) => size * values.length, 1) > limit) return null;
  return axes.reduce<Json[]>((points, [key, values]) => points.flatMap((point) => values.map((value) => ({ ...point, [key]: value }))), [{}]);
}

/** qatools' `${matrix.<param>}` interpolation in configurations: alone in a string it takes the value's type. */
function interpolateMatrix(value: unknown, param: string, replacement: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => interpolateMatrix(item, param, replacement));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateMatrix(v, param, replacement)]));
  if (typeof value !== 'string') return value;
  const placeholder = `\${matrix.${param}}`;
  if (value === placeholder) return replacement;
  return value.replaceAll(placeholder, String(replacement));
}

export interface GroupExpansion {
  tests: TestRun[];
  /** Why some inputs are listed as written rather than expanded (each reason once). */
  unexpanded: string[];
}

/** Location keys of an input's own settings that are not configurations. */
const INPUT_SETTING_KEYS = ['type', 'database', 'lsf', 'platform', 'glob', 'globs', 'use_parent_folder'];

/**
 * The tests of group `name` — resolved through aliases, with each batch's configurations, matrix
 * and per-input settings, as `qa batch --list` would give them — without the data disk: inputs are
 * listed as the files write them; folders, wildcards and metadata filters are expanded in CI.
 * Throws (with qatools' message) on an unknown input type or a malformed file.
 */
export function expandGroup(name: string, files: BatchesFile[], config: Json): GroupExpansion {
  const defaults = inputSettings(String((isObject(config.inputs) && isObject(config.inputs.types) && config.inputs.types.default) || 'default'), config);
  const defaultConfigurations = flatten(configurationsOf(defaults) ?? []);
  const { batches, aliases } = availableBatches(files, config);
  const tests: TestRun[] = [];
  const unexpanded = new Set<string>();

  const configurationBytes = new WeakMap<unknown[], number>(); // tests share their batch's list
  let bytes = 0;
  const addTest = (test: TestRun) => {
    if (tests.push(test) > MAX_GROUP_TESTS) throw tooLarge(name, 'tests');
    let size = configurationBytes.get(test.configurations);
    if (size === undefined) configurationBytes.set(test.configurations, (size = JSON.stringify(test.configurations).length));
    bytes += size + test.input_path.length;
    if (bytes > MAX_GROUP_BYTES) throw new BatchesFileError(`The group ${name} expands to more than ${MAX_GROUP_BYTES / 1024 / 1024} MB of tests and configurations`);
  };
  const addInput = (location: string, configurations: unknown[], settings: Json) => {
    addTest({ input_path: location, configurations });
    if (/[*?[]/.test(location)) unexpanded.add(`wildcards (<code>${escapeHtml(location)}</code>)`);
    else if (settings.globs) unexpanded.add('folders of inputs (<code>inputs.globs</code>)');
  };
  const addWholeDatabase = (batchName: string, configurations: unknown[]) => {
    addTest({ input_path: '*', configurations });
    unexpanded.add(`every input of the database (<code>${escapeHtml(batchName)}</code> lists none)`);
  };

  const expandBatch = (batchName: string, batch: unknown, inherited: unknown[], inheritedSettings: Json): void => {
    if (batch === null || batch === undefined) return;
    if (!isObject(batch)) throw new BatchesFileError(`A batch must be a mapping (inputs, configurations…), got: ${JSON.stringify(batch)}`);
    const configurations = flatten(configurationsOf(batch) ?? inherited);
    const settings = { ...('type' in batch ? inputSettings(String(batch.type), config) : inheritedSettings), ...batch };
    if (batch.matrix) {
      const rest = Object.fromEntries(Object.entries(batch).filter(([key]) => !['matrix', ...CONFIGURATION_KEYS, 'platform'].includes(key)));
      const usesDefaultConfigurations = !CONFIGURATION_KEYS.some((key) => key in batch);
      const points = parameterGrid(batch.matrix, MAX_GROUP_TESTS - tests.length);
      if (points === null) throw tooLarge(name, 'tests');
      for (const point of points) {
        const pointConfigurations = configurationsOf(point);
        let matrixConfigurations: unknown = configurations;
        if (pointConfigurations) {
          matrixConfigurations = configurations.length && !usesDefaultConfigurations ? [...configurations, pointConfigurations] : pointConfigurations;
        }
        for (const [param, value] of Object.entries(point)) {
          if (![...CONFIGURATION_KEYS, 'platform'].includes(param)) matrixConfigurations = interpolateMatrix(matrixConfigurations, param, value);
        }
        expandBatch(batchName, rest, flatten(matrixConfigurations), inheritedSettings);
      }
      return;
    }
    if (batch.only || batch.exclude) unexpanded.add('filters on input metadata (<code>only</code>, <code>exclude</code>)');
    const locations = batch.inputs ?? batch.tests;
    if (!locations) {
      addWholeDatabase(batchName, configurations);
      return;
    }
    // `[input, …]`, `[[input, config…], …]`, `[{input: settings}, …]` or `{input: settings}`.
    const entries: [string, unknown][] = isObject(locations)
      ? Object.entries(locations)
      : Array.isArray(locations)
        ? locations.flatMap((item): [string, unknown][] => {
            if (Array.isArray(item)) return [[String(item[0]), item.slice(1)]];
            if (isObject(item)) return Object.entries(item);
            return [[String(item), null]];
          })
        : [[String(locations), null]];
    for (const [location, own] of entries) {
      let inputConfigurations = configurations;
      if (isObject(own)) {
        const rest = Object.fromEntries(Object.entries(own).filter(([key]) => !INPUT_SETTING_KEYS.includes(key)));
        const patch = configurationsOf(rest);
        if (patch !== undefined) inputConfigurations = [...configurations, ...flatten(patch)];
        else if (Object.keys(rest).length) inputConfigurations = [...configurations, rest];
      } else if (Array.isArray(own)) {
        inputConfigurations = [...configurations, ...flatten(own)];
      } else if (own !== null && own !== undefined) {
        inputConfigurations = [...configurations, own];
      }
      addInput(location, inputConfigurations, isObject(own) && 'type' in own ? inputSettings(String(own.type), config) : settings);
    }
  };

  for (const batchName of resolveAliases([name], aliases)) {
    if (Object.hasOwn(batches, batchName)) expandBatch(batchName, batches[batchName], defaultConfigurations, defaults);
    // Not a batch: a path (or wildcard) under the default database.
    else addInput(batchName, defaultConfigurations, defaults);
  }
  return { tests, unexpanded: [...unexpanded] };
}

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
