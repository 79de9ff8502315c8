/**
 * The tuning form's groups of tests: YAML documents saved verbatim (bad YAML refused with the
 * parser's line), and a group expanded into its tests from the commit's batches files (read from a
 * fake GitLab at the commit) and the stored groups — without the data disk. Then the expansion
 * rules themselves, as qatools reads batches files.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { expandGroup, tuningBatchesYaml } from '../src/domain/test-groups/batches-files';
import { parseYamlObject, subProjects } from '../src/gitlab/qaboard-configs';
import { NEW_GROUPS_YAML } from '../src/domain/test-groups/test-groups';
import { parse } from 'yaml';
import { postJson, testApp, type TestApp } from './support/app';
import { emptyTables, engineNames, openTestDatabase, type TestDatabase } from './support/databases';
import { startFakeGitLab, type FakeGitLab } from './support/fake-gitlab';
import { HEAD_SHA, ispPipelineRepository } from './support/gitlab-fixtures';
import { outputUpload } from './support/uploads';

type Json = Record<string, any>;
const PROJECT = 'vision/isp-pipeline';
const groupsPath = (name: string) => `/api/v1/tests/groups?project=${PROJECT}&name=${name}`;
const CONFIG = {
  project: { name: PROJECT, reference_branch: 'master' },
  inputs: { database: { linux: '/mnt/datasets/isp' }, batches: ['qa/batches.yaml', 'qa/more-*.yaml'], globs: '*.dng', configurations: ['base'] },
};

describe.each(engineNames)('test groups on %s', (engine) => {
  let database: TestDatabase;
  let gitlab: FakeGitLab;
  let app: TestApp;

  const save = (name: string, groups: string) => postJson(app, groupsPath(name), { project: PROJECT, groups });
  const preview = async (name: string, groups: (string | null)[], commit: string | null = HEAD_SHA) => {
    const response = await postJson(app, `/api/v1/tests/group?project=${PROJECT}&name=${name}${commit ? `&commit=${commit}` : ''}`, { groups });
    expect(response.status).toBe(200);
    return (await response.json()) as Json;
  };

  beforeAll(async () => {
    database = await openTestDatabase(engine);
    gitlab = await startFakeGitLab([]);
  });
  beforeEach(async () => {
    await emptyTables(database.db);
    const repository = ispPipelineRepository();
    repository.files['qa/batches.yaml'] = 'night:\n  inputs:\n    - scenes/night/0001.dng\n    - [scenes/night/0002.dng, bright]\n';
    repository.files['qa/more-hdr.yaml'] = 'hdr:\n  configurations: [hdr]\n  inputs: {scenes/hdr/a.dng: {exposure: 2}}\n';
    gitlab.repositories.set(PROJECT, repository);
    app = testApp(database.db, { GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token });
    const upload = outputUpload({ project: PROJECT, sha: HEAD_SHA, branch: 'feature/denoise-v2' });
    expect((await postJson(app, '/api/v1/output/', { ...upload, qaboard_config: CONFIG })).status).toBe(200);
    gitlab.requests.length = 0;
  });
  afterAll(async () => {
    await gitlab?.close();
    await database?.close();
  });

  test('a document is saved verbatim, comments and all, and read back as YAML text', async () => {
    const initial = await app.request(groupsPath('extra-batches'));
    expect(initial.headers.get('content-type')).toContain('application/yaml');
    expect(await initial.text()).toBe(NEW_GROUPS_YAML);
    const yaml = '# my groups\nday:   # sunny\n  inputs: [scenes/day/0001.dng]\n';
    const saved = await save('extra-batches', yaml);
    expect(await saved.json()).toEqual({ status: 'OK', updated_at: expect.any(String) });
    expect(await (await app.request(groupsPath('extra-batches'))).text()).toBe(yaml);
    expect(await (await app.request(groupsPath('ada'))).text()).toBe(NEW_GROUPS_YAML); // per name
  });

  test("bad YAML is refused with the parser's message and line; nothing is saved", async () => {
    expect((await save('ada', 'day:\n  inputs: [a\n')).status).toBe(400);
    const response = await save('ada', 'day:\n  inputs:\n    - a\n  bad: [unclosed\nnight: {}\n');
    expect(response.status).toBe(400);
    const problem = (await response.json()) as Json;
    expect(problem.errors).toEqual([{ field: 'groups', message: expect.stringMatching(/^invalid YAML at line \d+, column \d+: .+/) }]);
    expect(problem.errors[0].message).toContain('line 5');
    const list = await save('ada', '- a\n- b\n');
    expect(((await list.json()) as Json).errors[0].message).toContain('mapping');
    expect((await postJson(app, groupsPath('ada'), { groups: 42 })).status).toBe(400);
    expect(await (await app.request(groupsPath('ada'))).text()).toBe(NEW_GROUPS_YAML);
    expect((await save('', 'a: 1')).status).toBe(400);
    expect((await app.request(`/api/v1/tests/groups?project=no/such&name=x`)).status).toBe(404);
  });

  test("a group expands from the commit's batches files (read from GitLab) and the stored groups", async () => {
    await save('ada', 'aliases:\n  everything: [night, hdr, day, scenes/extra]\nday:\n  configurations: [base, sunny]\n  inputs: [scenes/day/0001.dng]\n');
    const result = await preview('everything', ['extra-batches', 'ada']);
    expect(result.tests).toEqual([
      { input_path: 'scenes/night/0001.dng', configurations: ['base'] },
      { input_path: 'scenes/night/0002.dng', configurations: ['base', 'bright'] },
      { input_path: 'scenes/hdr/a.dng', configurations: ['hdr', { exposure: 2 }] },
      { input_path: 'scenes/day/0001.dng', configurations: ['base', 'sunny'] },
      { input_path: 'scenes/extra', configurations: ['base'] },
    ]);
    expect(result.message).toContain('<code>inputs.globs</code>');
    expect(gitlab.requests.some((r) => r.includes('/repository/tree'))).toBe(true); // the wildcard file
    expect(gitlab.requests.filter((r) => r.includes('/raw?ref=')).every((r) => r.endsWith(`ref=${HEAD_SHA}`))).toBe(true);
  });

  test('no name: no tests; an unknown commit 404; unreadable files and bad groups are said, with a 200', async () => {
    expect(await preview('', [])).toEqual({ tests: [], message: null });
    expect((await postJson(app, `/api/v1/tests/group?project=${PROJECT}&name=night&commit=${'e'.repeat(40)}`, { groups: [] })).status).toBe(404);
    expect((await postJson(app, `/api/v1/tests/group?project=${PROJECT}&name=night`, { groups: 'ada' })).status).toBe(400);

    const repository = gitlab.repositories.get(PROJECT)!;
    delete repository.files['qa/batches.yaml'];
    delete repository.files['qa/more-hdr.yaml'];
    const missing = await preview('night', [null]);
    expect(missing.tests).toEqual([{ input_path: 'night', configurations: ['base'] }]);
    expect(missing.message).toContain('Could not load the <code>inputs.batches</code> files');

    const withoutGitLab = await postJson(testApp(database.db), `/api/v1/tests/group?project=${PROJECT}&name=night&commit=${HEAD_SHA}`, { groups: [] });
    expect(((await withoutGitLab.json()) as Json).message).toContain('not configured');

    await save('null', 'broken:\n  type: thermal\n');
    const unknownType = await preview('broken', [null]);
    expect(unknownType).toMatchObject({ tests: [], error: expect.stringContaining('Unknown input type <thermal>') });
  });

  test("qaboard.yaml's globs match in linear time; one that is not a glob is said, the other files still load (attack finding F13)", async () => {
    const repository = gitlab.repositories.get(PROJECT)!;
    repository.files[`qa/${'a'.repeat(60)}.yaml`] = 'long:\n  inputs: [x]\n';
    repository.files['qa/[x.yaml'] = 'bracket:\n  inputs: [b1]\n';
    // Backtracking takes n^12 steps on the long name; `[z-a]` made a 500.
    const batches = ['qa/batches.yaml', `qa/${'*a'.repeat(12)}*b.yaml`, 'qa/more-[z-a].yaml', 'qa/[x.yaml', 'qa/more-[!x]dr.yaml'];
    await emptyTables(database.db); // the commit keeps the config of its first upload
    const upload = outputUpload({ project: PROJECT, sha: HEAD_SHA, branch: 'feature/denoise-v2' });
    expect((await postJson(app, '/api/v1/output/', { ...upload, qaboard_config: { ...CONFIG, inputs: { ...CONFIG.inputs, batches } } })).status).toBe(200);
    const started = performance.now();
    const result = await preview('night', [null]);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.tests).toEqual([
      { input_path: 'scenes/night/0001.dng', configurations: ['base'] },
      { input_path: 'scenes/night/0002.dng', configurations: ['base', 'bright'] },
    ]);
    expect(result.message).toContain('qa/more-[z-a].yaml (invalid character class range');
    expect(result.message).toContain('is not a valid glob');
    for (const [name, input] of [['bracket', 'b1'], ['hdr', 'scenes/hdr/a.dng']]) {
      expect((await preview(name!, [null])).tests.map((t: Json) => t.input_path)).toEqual([input]); // `[x` is literal, `[!x]` a class
    }
  });

  test('a group that never ends or multiplies past 10,000 tests is an error naming it, found in linear time; deep YAML is a 400 (attack finding F5)', async () => {
    const deep = `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const problem = (await (await save('ada', deep)).json()) as Json; // twice used to abort the Node process
      expect(problem.errors).toEqual([{ field: 'groups', message: expect.stringContaining('nests deeper than 64 levels') }]);
    }
    const fanOut = (level: number) => `  f${level}: [${Array.from({ length: 40 }, () => `f${level + 1}`).join(', ')}]\n`;
    const matrix = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, Array.from({ length: 10 }, (_, v) => v)]));
    await save('ada', [
      'aliases:',
      '  loop: [night, again]',
      '  again: [day, loop]',
      ...Array.from({ length: 6 }, (_, level) => fanOut(level).trimEnd()),
      '  too-deep: [d1]',
      ...Array.from({ length: 11 }, (_, i) => `  d${i + 1}: [d${i + 2}]`),
      `grid: {inputs: [x], matrix: ${JSON.stringify(matrix)}}`,
      `small: {inputs: [x], matrix: {k: [1, 2, 3]}}`,
      '',
    ].join('\n'));
    const started = performance.now();
    expect((await preview('loop', ['ada'], null)).error).toBe('The aliases of loop never end: loop → again → loop');
    expect((await preview('too-deep', ['ada'], null)).error).toContain('nest deeper than 10 levels');
    expect((await preview('f0', ['ada'], null)).error).toContain('The group f0 expands to more than 10,000 batches');
    expect(await preview('grid', ['ada'], null)).toEqual({ tests: [], message: null, error: expect.stringContaining('The group grid expands to more than 10,000 tests') });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect((await preview('small', ['ada'], null)).tests).toHaveLength(3);
  });

  test('without a commit, the project config and the stored groups only', async () => {
    await save('ada', 'day:\n  inputs: [scenes/day/0001.dng]\n');
    const result = await preview('day', ['ada'], null);
    expect(result.tests).toEqual([{ input_path: 'scenes/day/0001.dng', configurations: ['base'] }]);
    expect(gitlab.requests).toEqual([]);
  });
});

describe('batches files, as qatools reads them', () => {
  const config = { inputs: { types: { default: 'raw', raw: { configurations: ['raw-base'] } } } };
  const file = (text: string, name = 'f.yaml') => ({ name, text });

  test('matrix, per-input settings, aliases, later files overriding earlier ones', () => {
    const { tests, unexpanded } = expandGroup(
      'all',
      [
        file('aliases: {all: [grid, inputs]}\ngrid: {inputs: [x]}\n'),
        file(
          'grid:\n  configurations: [base, {gain: "${matrix.gain}"}]\n  matrix: {gain: [1, 2], platform: [linux]}\n  inputs: [a]\n' +
            'inputs:\n  inputs:\n    - b\n    - c: {database: /elsewhere, configurations: [cfg]}\n    - d: {denoise: true}\n    - "wild/*"\n',
        ),
      ],
      config,
    );
    expect(tests).toEqual([
      { input_path: 'a', configurations: ['base', { gain: 1 }] },
      { input_path: 'a', configurations: ['base', { gain: 2 }] },
      { input_path: 'b', configurations: ['raw-base'] },
      { input_path: 'c', configurations: ['raw-base', 'cfg'] },
      { input_path: 'd', configurations: ['raw-base', { denoise: true }] },
      { input_path: 'wild/*', configurations: ['raw-base'] },
    ]);
    expect(unexpanded).toEqual(['wildcards (<code>wild/*</code>)']);
  });

  test("a batch with no inputs is the whole database: listed as `*`, left to CI; HTML in names is escaped", () => {
    const { tests, unexpanded } = expandGroup('<all>', [file('<all>: {configurations: [x]}\n')], {});
    expect(tests).toEqual([{ input_path: '*', configurations: ['x'] }]);
    expect(unexpanded).toEqual(['every input of the database (<code>&lt;all&gt;</code> lists none)']);
  });

  test('the tuning file: merged in order (`super` splices the previous list), only what the group needs', () => {
    const yaml = tuningBatchesYaml(
      [file('database: /d\nkeep: {inputs: [a]}\ndrop: {inputs: [z]}\naliases: {g: [keep, more]}\n'), file('keep: {inputs: [super, b]}\nmore: {inputs: ["yes"]}\n')],
      'g',
    );
    expect(parse(yaml, { version: '1.1' })).toEqual({ database: '/d', keep: { inputs: ['a', 'b'] }, more: { inputs: ['yes'] }, aliases: { g: ['keep', 'more'] } });
    expect(yaml).toContain('"yes"'); // a string for PyYAML too
  });

  test('`__proto__` keys (plain or through a `<<` merge) are dropped, never merged into a prototype (attack finding F2)', () => {
    const hostile = '__proto__: {polluted: yes, keep: {inputs: [evil]}}\nbase: &b {__proto__: {polluted: yes}}\nkeep: {<<: *b, inputs: [a]}\n';
    const yaml = tuningBatchesYaml([file(hostile), file('keep: {__proto__: {polluted: 1}, inputs: [super, b]}\n')], 'keep');
    expect(({} as Json).polluted).toBeUndefined();
    expect(parse(yaml, { version: '1.1' })).toEqual({ keep: { inputs: ['a', 'b'] } });
    expect(expandGroup('keep', [file(hostile)], {}).tests).toEqual([{ input_path: 'a', configurations: [] }]);
    const configs = new Map([
      ['qaboard.yaml', parseYamlObject('__proto__: {polluted: yes}\nproject: {reference_branch: main}\n')!],
      ['sub/qaboard.yaml', parseYamlObject('__proto__: {polluted: again}\ninputs: {database: /d}\n')!],
    ]);
    for (const { config } of subProjects('g/r', configs)) {
      expect(Object.getPrototypeOf(config)).toBe(Object.prototype);
      expect(Object.keys(config)).not.toContain('__proto__');
      expect(config.polluted).toBeUndefined();
    }
    expect(({} as Json).polluted).toBeUndefined();
  });
});
