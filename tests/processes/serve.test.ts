// `qat serve` as a real process over real HTTP: start-up, graceful shutdown with a request in flight.
import http from 'node:http';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { createKey, uniqueName } from '../support/app.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL, tempDir } from '../support/env.js';
import { type QatProcess, startQat } from '../support/process.js';

const running: QatProcess[] = [];
afterAll(() => {
  for (const p of running) p.child.kill('SIGKILL');
});

const env = () => ({ DATABASE_URL: TEST_DATABASE_URL, REDIS_URL: TEST_REDIS_URL, DATA_DIR: tempDir(), PORT: '0', LOG_LEVEL: 'info' });

async function startServer(): Promise<{ proc: QatProcess; base: string }> {
  const proc = startQat(['serve'], env());
  running.push(proc);
  const listening = await proc.waitForLog(/^Server listening at http:\/\/127\.0\.0\.1:\d+/);
  const base = /(http:\/\/127\.0\.0\.1:\d+)/.exec(String(listening.msg))![1]!;
  return { proc, base };
}

describe('qat serve', () => {
  it('serves health, readiness and problem+json over HTTP, with structured logs', async () => {
    const { proc, base } = await startServer();
    await request(base).get('/healthz').expect(200).expect('x-request-id', /.+/);
    await request(base).get('/readyz').expect(200);
    const res = await request(base).get('/missing').set('x-request-id', 'log-me-1').expect(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    const log = await proc.waitForLog(/request completed/);
    expect(log).toMatchObject({ level: expect.any(Number), request_id: expect.any(String) });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('on SIGTERM stops accepting, finishes the request in flight, then closes and exits 0', async () => {
    const key = await createKey(uniqueName('shutdown'));
    const { proc, base } = await startServer();
    const url = new URL('/v1/api-keys', base);
    const body = JSON.stringify({ name: 'in-flight' });

    // Send the headers and half the body, so the request is in flight when the signal arrives.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${key}` } },
        (res) => {
          let data = '';
          res.on('data', (c: Buffer) => (data += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => {
        proc.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(5)), 500);
      }, 300);
    });

    await proc.waitForLog(/^shutting down$/);
    // New connections are refused while draining.
    await expect(request(base).get('/healthz')).rejects.toThrow(/ECONNREFUSED|ECONNRESET/);
    const answered = await response;
    expect(answered.status).toBe(201);
    expect(JSON.parse(answered.body)).toMatchObject({ name: 'in-flight' });
    expect(await proc.exited).toBe(0);
    await proc.waitForLog(/^shutdown complete$/);
  });
});
