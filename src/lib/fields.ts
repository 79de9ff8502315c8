/**
 * Field types of the contracts that Postgres can store and index as given: lengths in UTF-8 bytes
 * (a btree entry holds at most ~2.7 KB, whatever the characters), timestamps within Postgres'
 * range, decimal ids within `int`. Out-of-range values are a 400 naming the field, never a 500 or
 * a silent rewrite.
 */
import { z } from '@hono/zod-openapi';
import { utf8Length } from './storable-text';

/** Text of 1 to `maxBytes` UTF-8 bytes (`minBytes: 0` allows the empty string). */
export const boundedText = (maxBytes: number, minBytes = 1) =>
  z
    .string()
    .refine((text) => text.length >= minBytes, minBytes === 1 ? 'must not be empty' : `must be at least ${minBytes} bytes`)
    .refine((text) => text.length <= maxBytes && utf8Length(text) <= maxBytes, `must be at most ${maxBytes} bytes (UTF-8)`);

/** A database id in a path: decimal digits only (`0x10` is not 16), within Postgres' `int`. */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive decimal integer')
  .transform(Number)
  .refine((id) => id <= 2_147_483_647, 'is too large')
  .openapi({ type: 'integer', example: 42 });

const OFFSET = /([+-])(\d{2}):?(\d{2})$/;

/** The instants the API can read back as ISO 8601 (a 4-digit year, not BC). */
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** The instant of an ISO date-time whose offset may be omitted (then it is UTC, not the server's local time). */
const instantOf = (value: string) => Date.parse(OFFSET.test(value) || value.endsWith('Z') ? value : `${value}Z`);

/**
 * An ISO 8601 date-time Postgres can store and the API read back as ISO 8601: years 1 to 9999
 * (there is no year 0) once in UTC — `0001-01-01T00:00:00+15:59` is in 1 BC —, offsets within
 * ±15:59. With `local`, the offset may be omitted (Python's naive `isoformat()`; then it is UTC).
 */
export const storableTimestamp = ({ local = false } = {}) =>
  (local ? z.union([z.iso.datetime({ offset: true }), z.iso.datetime({ local: true })]) : z.iso.datetime({ offset: true }))
    .refine((value) => Number(value.slice(0, 4)) >= 1, 'year 0 does not exist (years 0001 to 9999)')
    .refine((value) => Number(OFFSET.exec(value)?.[2] ?? 0) <= 15, 'the UTC offset must be within ±15:59')
    .refine((value) => {
      const instant = instantOf(value);
      return instant >= FIRST_INSTANT && instant <= LAST_INSTANT;
    }, 'must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once in UTC')
    .openapi({ type: 'string', format: 'date-time' });
