import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, configDefaults, parseConfig } from '../../src/config/index.js';

describe('parseConfig', () => {
  it('gives working defaults for this machine when nothing is set', () => {
    const result = parseConfig({}, '/srv/qat');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/qat',
      redisUrl: 'redis://127.0.0.1:6379',
      dataDir: '/srv/qat/data',
      host: '127.0.0.1',
      port: 8080,
      logLevel: 'info',
      workerConcurrency: 1,
      bodyLimitBytes: 1024 * 1024,
      docsEnabled: true,
    });
    expect(Object.isFrozen(result.config)).toBe(true);
  });

  it('treats empty variables as unset', () => {
    const result = parseConfig({ PORT: '', LOG_LEVEL: '' });
    expect(result.ok && result.config.port).toBe(8080);
  });

  it('parses every kind of value', () => {
    const result = parseConfig({
      PORT: '9000',
      BODY_LIMIT: '512kb',
      DOCS_ENABLED: 'off',
      DATA_DIR: '/var/lib/qat',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      REDIS_URL: 'rediss://cache:6380',
      LOG_LEVEL: 'debug',
      WORKER_CONCURRENCY: '4',
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({ port: 9000, bodyLimitBytes: 512 * 1024, docsEnabled: false, dataDir: '/var/lib/qat', logLevel: 'debug', workerConcurrency: 4 });
  });

  it('names every invalid variable with its reason, at once', () => {
    const result = parseConfig({
      PORT: '80a',
      REDIS_URL: 'http://localhost:6379',
      DATABASE_URL: 'not a url',
      LOG_LEVEL: 'loud',
      WORKER_CONCURRENCY: '0',
      BODY_LIMIT: 'huge',
      DOCS_ENABLED: 'maybe',
      QUEUE_PREFIX: 'a b',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byField = Object.fromEntries(result.problems.map((p) => [p.field, p.reason]));
    expect(Object.keys(byField).sort()).toEqual(['BODY_LIMIT', 'DATABASE_URL', 'DOCS_ENABLED', 'LOG_LEVEL', 'PORT', 'QUEUE_PREFIX', 'REDIS_URL', 'WORKER_CONCURRENCY']);
    expect(byField.PORT).toMatch(/integer.*80a/);
    expect(byField.REDIS_URL).toMatch(/redis:/);
    expect(byField.LOG_LEVEL).toMatch(/one of .*info/);
    expect(byField.WORKER_CONCURRENCY).toMatch(/between 1 and 64/);
  });

  it('reads the job recovery settings: retry budget and backoff, shutdown hand-over grace, checkpoint period', () => {
    const defaults = parseConfig({});
    expect(defaults.ok && defaults.config).toMatchObject({ jobMaxAttempts: 3, jobRetryBackoffMs: 5000, jobShutdownGraceMs: 30_000, jobCheckpointIntervalMs: 60_000 });
    const set = parseConfig({ JOB_MAX_ATTEMPTS: '5', JOB_RETRY_BACKOFF_MS: '250', JOB_SHUTDOWN_GRACE_MS: '0', JOB_CHECKPOINT_INTERVAL_MS: '15000' });
    expect(set.ok && set.config).toMatchObject({ jobMaxAttempts: 5, jobRetryBackoffMs: 250, jobShutdownGraceMs: 0, jobCheckpointIntervalMs: 15_000 });
    const bad = parseConfig({ JOB_RETRY_BACKOFF_MS: '5', JOB_SHUTDOWN_GRACE_MS: '-1', JOB_CHECKPOINT_INTERVAL_MS: '10' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.map((p) => p.field).sort()).toEqual(['JOB_CHECKPOINT_INTERVAL_MS', 'JOB_RETRY_BACKOFF_MS', 'JOB_SHUTDOWN_GRACE_MS']);
  });

  it('reads TRUST_PROXY as off, on, a hop count or address ranges, and names a bad entry', () => {
    const value = (raw: string) => {
      const r = parseConfig({ TRUST_PROXY: raw });
      return r.ok ? r.config.trustProxy : r.problems;
    };
    expect(value('')).toBe(false);
    expect(value('true')).toBe(true);
    expect(value('2')).toBe(2);
    expect(value('1')).toBe(1);
    expect(value('0')).toBe(false);
    expect(value('10.0.0.0/8, 2001:db8::1, loopback')).toEqual(['10.0.0.0/8', '2001:db8::1', 'loopback']);
    expect(value('10.0.0.0/33')).toEqual([{ field: 'TRUST_PROXY', reason: expect.stringContaining("'10.0.0.0/33' is none of them") }]);
    expect(value('10.0.0.1, proxy.internal')).toEqual([{ field: 'TRUST_PROXY', reason: expect.stringContaining("'proxy.internal'") }]);
    expect(value('33')).toEqual([{ field: 'TRUST_PROXY', reason: expect.stringContaining('between 1 and 32') }]);
  });

  it('never echoes a password from an invalid URL', () => {
    const result = parseConfig({ DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('documents every variable in the README with its default', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const defaults = configDefaults();
    for (const name of CONFIG_VARIABLES) {
      expect(readme, name).toMatch(new RegExp(`\\| \`${name}\` \\| \`${defaults[name].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\``));
    }
  });
});
