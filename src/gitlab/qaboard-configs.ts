/**
 * QA-Board (sub-)projects of a repository, from the `qaboard.yaml` / `qatools.yaml` files of a
 * commit: each config folder is a project (id = repository path + folder) whose config merges
 * the configs from the repository root down to its folder, the deeper one winning.
 */
import { parseBoundedYaml } from '../lib/bounded-yaml';
import { ownValue } from '../lib/prototype-keys';

type Json = Record<string, unknown>;

const CONFIG_FILE = /(^|\/)qa(board|tools)\.yaml$/;

export const isConfigFile = (path: string) => CONFIG_FILE.test(path);

const folderOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Objects merge key by key; anything else (lists included) is replaced by the override. */
export function deepMerge(base: Json, override: Json): Json {
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = ownValue(merged, key);
    merged[key] = isObject(value) && isObject(current) ? deepMerge(current, value) : value;
  }
  return merged;
}

/** Parses a YAML (or JSON) document into an object, without `__proto__` keys; anything else — or invalid YAML — is `null`. */
export function parseYamlObject(text: string): Json | null {
  try {
    const value: unknown = parseBoundedYaml(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

export interface SubProject {
  id: string;
  folder: string;
  config: Json;
}

/** `configs` maps each config file's path to its parsed content. */
export function subProjects(repositoryPath: string, configs: Map<string, Json>): SubProject[] {
  const byFolder = new Map([...configs].map(([path, config]) => [folderOf(path), config]));
  const isAncestor = (ancestor: string, folder: string) => ancestor === '' || folder === ancestor || folder.startsWith(`${ancestor}/`);
  return [...byFolder.keys()].sort().map((folder) => {
    const id = folder ? `${repositoryPath}/${folder}` : repositoryPath;
    const chain = [...byFolder.keys()].filter((f) => isAncestor(f, folder)).sort((a, b) => a.length - b.length);
    const merged = chain.reduce((config, f) => deepMerge(config, byFolder.get(f)!), {} as Json);
    const project = isObject(merged.project) ? merged.project : {};
    return { id, folder, config: { ...merged, project: { ...project, name: id } } };
  });
}

/** The metric definitions file a config names (`outputs.metrics`, relative to the repository root). */
export function metricsFileOf(config: Json): string | undefined {
  const outputs = config.outputs;
  return isObject(outputs) && typeof outputs.metrics === 'string' && outputs.metrics ? outputs.metrics : undefined;
}
