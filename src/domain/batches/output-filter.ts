/**
 * The web app's output filter (the search box above a batch), which `POST /api/v1/batch/move`
 * applies to pick outputs: space-separated regular expressions over a line describing the
 * output; all must match, none of those prefixed with `-` may. `key: value` and `key=value`
 * are tolerated with spaces after the separator, quotes are ignored. The expressions run in linear
 * time (`lib/linear-regexp`): a filter can't stall the server; backreferences and lookarounds are a
 * 400 naming `filter`.
 */
import { InvalidPattern, linearRegExp, type LinearRegExp } from '../../lib/linear-regexp';
import { invalidField } from '../../lib/problem';

export interface FilterableOutput {
  testInputPath: string;
  platform: string;
  configurations: unknown;
  extraParameters: unknown;
  testInputMetadata: unknown;
  isFailed: boolean;
  isPending: boolean;
}

/** The text the filter searches: as the web app and the original build it (compact JSON, no quotes, lower case). */
function searchedText(output: FilterableOutput): string {
  const fields = [
    output.testInputPath,
    output.platform,
    JSON.stringify(output.configurations),
    JSON.stringify(output.extraParameters),
    JSON.stringify(output.testInputMetadata ?? {}),
    output.isFailed ? 'fail crash' : '',
    output.isPending ? 'pending running' : '',
  ];
  return fields.join(' ').replaceAll('"', '').toLowerCase();
}

function compile(token: string): LinearRegExp {
  try {
    return linearRegExp(token);
  } catch (error) {
    if (!(error instanceof InvalidPattern)) throw error;
    throw invalidField('filter', `\`${token}\` is not a valid regular expression (${error.message}); filters run in linear time, without backreferences or lookarounds`);
  }
}

/** A predicate for `query`; every output passes an empty query. */
export function outputFilter(query: string | null | undefined): (output: FilterableOutput) => boolean {
  const tokens = (query ?? '').trim().toLowerCase().replaceAll('"', '').replace(/[=:] +/g, ':').split(/\s+/).filter(Boolean);
  const excluded = tokens.filter((t) => t.startsWith('-')).map((t) => compile(t.slice(1)));
  const required = tokens.filter((t) => !t.startsWith('-')).map(compile);
  return (output) => {
    const text = searchedText(output);
    return !excluded.some((re) => re.test(text)) && required.every((re) => re.test(text));
  };
}
