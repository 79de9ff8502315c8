/** A statement compiled once and bound to values is the statement built with those values. */
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, test } from 'vitest';
import { statementTemplate } from '../src/db/statement-templates';

const dialect = new PgDialect();
type Params = { id: number; label: string; patch: string | null };
const build = (p: { [K in keyof Params]: unknown }) =>
  sql`WITH x AS (SELECT ${p.id}::int AS id, ${sql`lower(${p.label}::text)`} AS label, ${42} AS constant)
    SELECT * FROM x WHERE id = ${p.id}::int AND ${p.patch}::jsonb IS NULL AND label <> '$1'`;

describe('statementTemplate', () => {
  test('bound to values, it compiles to the text and parameters of the statement built with them', () => {
    const template = statementTemplate<Params>(build);
    for (const values of [
      { id: 7, label: "it's", patch: null },
      { id: -1, label: '\u00e9t\u00e9 $2', patch: '{"a": 1}' },
    ]) {
      const bound = dialect.sqlToQuery(template(values));
      expect(bound).toEqual(dialect.sqlToQuery(build(values)));
      expect(bound.params).toEqual([values.id, values.label, 42, values.id, values.patch]);
    }
  });

  test('what would not be bound as the tree compiles it is refused when the template is made', () => {
    expect(() => statementTemplate(() => sql`SELECT ${sql.param(sql.placeholder('x'), { mapToDriverValue: JSON.stringify })}::jsonb`)).toThrow(/plain placeholders/);
    expect(() => statementTemplate(() => sql`SELECT 1 WHERE 'a' = ANY(${sql.param(['a', 'b'])})`)).toThrow(/scalar constants/);
  });

  test('a value missing is an error, not a NULL', () => {
    const template = statementTemplate<Params>(build);
    expect(() => template({ id: 1, label: 'a' } as Params)).toThrow(/patch/);
  });
});
