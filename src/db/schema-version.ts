import journal from '../../drizzle/meta/_journal.json';

/** The schema a backup was taken with: the tag of the latest migration. */
export const SCHEMA_VERSION: string = journal.entries.at(-1)!.tag;
