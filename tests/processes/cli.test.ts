import { afterAll, describe, expect, it } from 'vitest';
import { buildTestApp } from '../support/app.js';
import { dropDatabase, scratchDatabaseUrl } from '../support/databases.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { runQat } from '../support/process.js';

const scratch = scratchDatabaseUrl();
afterAll(() => dropDatabase(scratch));

describe('qat CLI', () => {
  it('stops with exit code 78 and names each invalid variable', async () => {
    const { code, stderr } = await runQat(['serve'], { PORT: 'eighty', WORKER_CONCURRENCY: '-1' });
    expect(code).toBe(78);
    expect(stderr).toMatch(/INVALID_CONFIG/);
    expect(stderr).toMatch(/PORT must be an integer, got 'eighty'/);
    expect(stderr).toMatch(/WORKER_CONCURRENCY/);
  });

  it('migrate creates the database, applies, and is a no-op the second time', async () => {
    const first = await runQat(['migrate'], { DATABASE_URL: scratch });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ created_database: true, applied: [expect.stringMatching(/_init$/), expect.stringMatching(/_job_events_webhooks$/), expect.stringMatching(/_job_retries$/)] });
    const second = await runQat(['migrate'], { DATABASE_URL: scratch });
    expect(JSON.parse(second.stdout)).toMatchObject({ created_database: false, applied: [] });
  });

  it('keys create prints a working key once, on stdout', async () => {
    const tenant = `cli-${Date.now()}`;
    const { code, stdout, stderr } = await runQat(['keys', 'create', '--tenant', tenant, '--name', 'from cli'], { DATABASE_URL: TEST_DATABASE_URL });
    expect(code).toBe(0);
    expect(stderr).toContain(tenant);
    const key = stdout.trim();
    expect(key).toMatch(/^qat_[0-9a-f]{12}_\S{43}$/);
    const t = await buildTestApp();
    try {
      const res = await t.app.inject({ method: 'GET', url: '/v1/api-keys', headers: { authorization: `Bearer ${key}` } });
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toEqual([expect.objectContaining({ name: 'from cli' })]);
    } finally {
      await t.close();
    }
  });

  it('keys create refuses an invalid tenant name, naming it', async () => {
    const { code, stderr } = await runQat(['keys', 'create', '--tenant', 'Bad Name!'], { DATABASE_URL: TEST_DATABASE_URL });
    expect(code).toBe(1);
    expect(stderr).toMatch(/tenant: must be/);
  });

  it.each(['serve', 'worker', 'migrate', 'keys create'])('`qat %s --help` describes the command', async (cmd) => {
    const { code, stdout } = await runQat([...cmd.split(' '), '--help'], {});
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: qat /);
  });
});
