// Gives the run a fresh test database with the committed migrations applied. Each run gets its own
// database (named after its process) unless TEST_DATABASE_URL names one, so two runs at once (two
// sessions, or a benchmark beside the suite) never drop each other's; the test workers inherit the name
// through the environment, and the database is dropped when the run ends.
import pg from 'pg';
import { migrate, quoteIdent } from '../../src/db/migrate.js';

const ADMIN_DATABASE_URL = process.env.ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const own = process.env.TEST_DATABASE_URL === undefined;
  if (own) process.env.TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:5432/qat_test_${process.pid}`;
  const url = process.env.TEST_DATABASE_URL!;
  const name = new URL(url).pathname.slice(1);
  await dropDatabase(name);
  await migrate(url);
  return async () => {
    if (own) await dropDatabase(name);
  };
}
