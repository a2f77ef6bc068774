import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { readMigrations } from '../../src/db/migrations.js';
import { MigrationError } from '../../src/errors/index.js';
import { catalog, dropDatabase, query, scratchDatabaseUrl } from '../support/databases.js';

const created: string[] = [];
const scratch = (): string => {
  const url = scratchDatabaseUrl();
  created.push(url);
  return url;
};

afterEach(async () => {
  await Promise.all(created.splice(0).map(dropDatabase));
});

const tables = async (url: string): Promise<string[]> =>
  (await query<{ t: string }>(url, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r) => r.t);

describe('migrate', () => {
  it('creates a missing database and applies every committed migration', async () => {
    const url = scratch();
    const committed = (await readMigrations()).map((m) => m.name);
    const result = await migrate(url);
    expect(result.createdDatabase).toBe(true);
    expect(result.applied).toEqual(committed);
    expect(await tables(url)).toEqual(
      ['_prisma_migrations', 'api_keys', 'artifacts', 'datasets', 'job_events', 'job_transitions', 'jobs', 'metrics', 'models', 'tenants', 'webhook_attempts', 'webhook_deliveries', 'webhooks'].sort(),
    );
    const rows = await query<{ migration_name: string; finished_at: Date | null }>(url, 'SELECT migration_name, finished_at FROM _prisma_migrations');
    expect(rows.map((r) => r.migration_name)).toEqual(committed);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
  });

  it('is a no-op the second time', async () => {
    const url = scratch();
    await migrate(url);
    const before = await catalog(url);
    const again = await migrate(url);
    expect(again).toMatchObject({ createdDatabase: false, applied: [] });
    expect(again.alreadyApplied.length).toBeGreaterThan(0);
    expect(await catalog(url)).toEqual(before);
    expect(await query(url, 'SELECT 1 FROM _prisma_migrations')).toHaveLength(again.alreadyApplied.length);
  });

  it('serialises concurrent runners: each migration is applied exactly once', async () => {
    const url = scratch();
    await migrate(url, []); // create the database first so both runners race only on migrations
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    const appliedCounts = results.map((r) => r.applied.length).sort();
    const total = (await readMigrations()).length;
    expect(appliedCounts).toEqual([0, 0, total]);
  });

  it('leaves the database as it was when a migration fails, and names it', async () => {
    const url = scratch();
    const good = { name: '001_good', sql: 'CREATE TABLE good (id int)', checksum: 'a'.repeat(64) };
    const bad = { name: '002_bad', sql: 'CREATE TABLE half (id int); INSERT INTO good VALUES (1); SELECT no_such_function()', checksum: 'b'.repeat(64) };
    const error = await migrate(url, [good, bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).migration).toBe('002_bad');
    expect((error as Error).message).toMatch(/no_such_function/);
    expect(await tables(url)).toEqual(['_prisma_migrations', 'good']);
    expect(await query(url, 'SELECT * FROM good')).toEqual([]);
    expect((await query<{ migration_name: string }>(url, 'SELECT migration_name FROM _prisma_migrations')).map((r) => r.migration_name)).toEqual(['001_good']);
  });

  it('refuses to continue when an applied migration was edited', async () => {
    const url = scratch();
    await migrate(url, [{ name: '001', sql: 'CREATE TABLE t (id int)', checksum: 'a'.repeat(64) }]);
    await expect(migrate(url, [{ name: '001', sql: 'CREATE TABLE t (id bigint)', checksum: 'c'.repeat(64) }])).rejects.toThrow(
      /001.*changed/,
    );
  });
});
