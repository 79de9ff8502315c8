/**
 * `__proto__` is the one key that plain-object assignment (`o[k] = v`) and reads (`o[k]`) take for
 * the prototype rather than for data: merged key by key into an object, a YAML or JSON document
 * carrying it would write into Object.prototype — and so into every object of every later request.
 * Documents drop it where they are parsed (YAML) or are refused with it (JSON bodies); merges read
 * only own properties, so even a value that slipped through can't reach a prototype.
 */
export const PROTOTYPE_KEY = '__proto__';

/** A reviver (`JSON.parse`, yaml's `parse`) that drops `__proto__` keys at every depth. */
export const dropPrototypeKeys = (key: unknown, value: unknown): unknown => (key === PROTOTYPE_KEY ? undefined : value);

/** The value `object` itself holds under `key` — never one inherited from its prototype. */
export const ownValue = (object: Record<string, unknown>, key: string): unknown => (Object.hasOwn(object, key) ? object[key] : undefined);
