// The committed migrations must build exactly what prisma/schema.prisma describes: the same catalog
// as the SQL Prisma's own schema engine generates for the schema from scratch.
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { catalog, dropDatabase, query, scratchDatabaseUrl } from '../support/databases.js';
import { ADMIN_DATABASE_URL } from '../support/env.js';
import { schemaSql } from '../support/schema-engine.js';

const fromMigrations = scratchDatabaseUrl();
const fromSchema = scratchDatabaseUrl();

afterAll(async () => {
  await Promise.all([dropDatabase(fromMigrations), dropDatabase(fromSchema)]);
});

describe('schema drift', () => {
  it('committed migrations match prisma/schema.prisma', async () => {
    await migrate(fromMigrations);
    await migrate(fromSchema, []); // only creates the empty database
    const sql = await schemaSql(ADMIN_DATABASE_URL);
    expect(sql).toMatch(/CREATE TABLE "jobs"/);
    await query(fromSchema, sql);
    expect(await catalog(fromMigrations)).toEqual(await catalog(fromSchema));
  });
});
