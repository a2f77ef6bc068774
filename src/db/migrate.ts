// Applies committed migrations with plain node-postgres. `prisma migrate deploy` needs a native
// schema engine that is downloaded at run time, which fails offline (DESIGN §6); this runner keeps
// Prisma's bookkeeping table (`_prisma_migrations`) so the Prisma CLI agrees where it can run.
//
// Guarantees: the database is created if missing; each migration runs in its own transaction together
// with its bookkeeping row, so a failure leaves the database as it was before that migration; a
// Postgres advisory lock serialises concurrent runners (api and worker starting at once); applying
// twice is a no-op; an applied migration whose file changed is refused rather than silently skipped.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { MigrationError } from '../errors/index.js';
import { type Migration, readMigrations } from './migrations.js';

export interface MigrateResult {
  database: string;
  createdDatabase: boolean;
  applied: string[];
  alreadyApplied: string[];
}

// Any constant works; it only has to be the same for every runner of this project.
const LOCK_KEY = 0x716174; // "qat"

const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export async function migrate(databaseUrl: string, migrations?: Migration[]): Promise<MigrateResult> {
  const list = migrations ?? (await readMigrations());
  const database = databaseName(databaseUrl);
  const createdDatabase = await ensureDatabase(databaseUrl, database);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(BOOKKEEPING);
    const done = await appliedChecksums(client);
    const applied: string[] = [];
    const alreadyApplied: string[] = [];
    for (const m of list) {
      const checksum = done.get(m.name);
      if (checksum !== undefined) {
        if (checksum !== m.checksum) {
          throw new MigrationError(m.name, 'was already applied but its migration.sql has changed since; add a new migration instead of editing an applied one');
        }
        alreadyApplied.push(m.name);
        continue;
      }
      await applyOne(client, m);
      applied.push(m.name);
    }
    return { database, createdDatabase, applied, alreadyApplied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

async function applyOne(client: pg.Client, m: Migration): Promise<void> {
  try {
    await client.query('BEGIN');
    await client.query(m.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), now(), 1)`,
      [randomUUID(), m.checksum, m.name],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new MigrationError(m.name, (err as Error).message, { cause: err });
  }
}

async function appliedChecksums(client: pg.Client): Promise<Map<string, string>> {
  const { rows } = await client.query<{ migration_name: string; checksum: string }>(
    `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return new Map(rows.map((r) => [r.migration_name, r.checksum]));
}

export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new MigrationError('-', 'DATABASE_URL names no database');
  return name;
}

/** Creates the database through the server's `postgres` maintenance database when it is missing. */
async function ensureDatabase(databaseUrl: string, database: string): Promise<boolean> {
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(database)}`);
    } catch (err) {
      // Another runner created it between our check and our CREATE.
      if ((err as { code?: string }).code === '42P04') return false;
      throw err;
    }
    return true;
  } finally {
    await admin.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
