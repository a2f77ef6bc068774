// Gives the run a fresh test database with the committed migrations applied.
import pg from 'pg';
import { migrate, quoteIdent } from '../../src/db/migrate.js';
import { ADMIN_DATABASE_URL, TEST_DATABASE_URL } from './env.js';

export default async function setup(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  const name = new URL(TEST_DATABASE_URL).pathname.slice(1);
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  await admin.end();
  await migrate(TEST_DATABASE_URL);
}
