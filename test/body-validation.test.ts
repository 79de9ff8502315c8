/** JSON bodies are validated synchronously (routes/schemas.ts `jsonBody`), with the same results as before. */
import { z } from '@hono/zod-openapi';
import { describe, expect, test } from 'vitest';
import { outputUpload as outputUploadSchema } from '../src/domain/ingest/envelope';
import { jsonBody } from '../src/routes/schemas';
import { outputUpload } from './support/uploads';

const bodySchema = <T extends z.ZodType>(schema: T) => jsonBody(schema).content['application/json'].schema;

describe('jsonBody', () => {
  test("an upload's result is the synchronous parse's, and it never runs zod's asynchronous parse", async () => {
    const schema = bodySchema(outputUploadSchema);
    const valid = outputUpload();
    const invalid = { ...outputUpload(), is_running: 'yes' };
    expect(await schema.safeParseAsync(valid)).toEqual(schema.safeParse(valid));
    expect(await schema.safeParseAsync(invalid)).toEqual(schema.safeParse(invalid));
    expect((await schema.safeParseAsync(invalid)).error!.issues.map((issue) => issue.path.join('.'))).toEqual(['is_running']);
    // The asynchronous parse runs the schema's `_zod.run` with `async: true`: a body parsed so would be seen here.
    const run = schema._zod.run;
    const asyncRuns: unknown[] = [];
    schema._zod.run = (payload, ctx) => (ctx.async && asyncRuns.push(payload), run(payload, ctx));
    await schema.safeParseAsync(valid);
    schema._zod.run = run;
    expect(asyncRuns).toEqual([]);
  });

  test('a body schema with an asynchronous refinement is refused loudly, not parsed as if valid', async () => {
    const schema = bodySchema(z.object({ name: z.string() }).refine(async () => true));
    await expect(schema.safeParseAsync({ name: 'free' })).rejects.toThrow(/async refinement/);
  });

  test('a schema that is the body of several routes is wrapped once', () => {
    const schema = z.object({ name: z.string() });
    const once = bodySchema(schema).safeParseAsync;
    expect(bodySchema(schema).safeParseAsync).toBe(once);
  });
});
