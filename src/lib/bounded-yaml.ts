/**
 * YAML parsed only when its nesting is shallow enough. The `yaml` parser recurses once per level:
 * a document a few thousand levels deep (`[[[[…`, 10 KB) overflows the stack, and on Node a second
 * such overflow can abort the whole process (V8 compiling a regular expression at the stack limit:
 * "RegExpCompiler Allocation failed"). Batches files and qaboard.yaml nest a few levels; the check
 * over-estimates (brackets in quoted text count too), which only matters past `MAX_YAML_DEPTH`.
 */
import { parse, type DocumentOptions, type ParseOptions, type SchemaOptions, type ToJSOptions } from 'yaml';
import { dropPrototypeKeys } from './prototype-keys';

export const MAX_YAML_DEPTH = 64;

export class YamlTooDeep extends Error {}

/** The deepest nesting of `text`: open flow brackets plus block levels (indentation, and `- ` items on one line). */
function nestingDepth(text: string): number {
  let deepest = 0;
  let flow = 0;
  const indents: number[] = [];
  for (const line of text.split('\n')) {
    const indent = line.length - line.trimStart().length;
    const content = line.slice(indent);
    if (content === '' || content.startsWith('#')) continue;
    while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
    indents.push(indent);
    const compactItems = /^(?:[-?:][ \t]+)*/.exec(content)![0].replace(/[ \t]/g, '').length;
    for (const ch of content) {
      if (ch === '[' || ch === '{') deepest = Math.max(deepest, indents.length + compactItems + ++flow);
      else if ((ch === ']' || ch === '}') && flow > 0) flow--;
    }
    deepest = Math.max(deepest, indents.length + compactItems + flow);
  }
  return deepest;
}

/**
 * `yaml`'s `parse`, refusing (YamlTooDeep) a document nested deeper than `MAX_YAML_DEPTH`, and
 * dropping `__proto__` keys (see prototype-keys.ts).
 */
export function parseBoundedYaml(text: string, options?: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions): unknown {
  if (nestingDepth(text) > MAX_YAML_DEPTH) throw new YamlTooDeep(`it nests deeper than ${MAX_YAML_DEPTH} levels`);
  return parse(text, dropPrototypeKeys, options);
}
