// Throw-away databases for tests that need an empty one (migrations), dropped afterwards.
import pg from 'pg';
import { quoteIdent } from '../../src/db/migrate.js';
import { ADMIN_DATABASE_URL, TEST_DATABASE_URL, withDatabase } from './env.js';

export function scratchDatabaseUrl(): string {
  return withDatabase(TEST_DATABASE_URL, `qat_scratch_${process.pid}_${Math.random().toString(36).slice(2, 10)}`);
}

export async function dropDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(new URL(url).pathname.slice(1))} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Tables, columns, constraints, indexes and enums of the public schema, in a comparable form. */
export async function catalog(url: string): Promise<Record<string, string[]>> {
  const columns = await query<{ d: string }>(
    url,
    `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(udt_name, '') || ' ' ||
            coalesce(character_maximum_length::text, '') || ' ' || coalesce(datetime_precision::text, '') || ' ' ||
            is_nullable || ' ' || coalesce(column_default, '') AS d
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1`,
  );
  const constraints = await query<{ d: string }>(
    url,
    `SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS d
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1`,
  );
  const indexes = await query<{ d: string }>(
    url,
    `SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY 1`,
  );
  const enums = await query<{ d: string }>(
    url,
    `SELECT t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS d
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY 1`,
  );
  const pick = (rows: { d: string }[]) => rows.map((r) => r.d);
  return { columns: pick(columns), constraints: pick(constraints), indexes: pick(indexes), enums: pick(enums) };
}
