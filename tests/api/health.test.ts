import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { closedPort } from '../support/env.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

describe('health', () => {
  it('GET /healthz answers without touching dependencies', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', version: expect.any(String) });
  });

  it('GET /readyz is 200 with each dependency up', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('ready');
    for (const name of ['postgres', 'redis', 'data_dir']) expect(body.checks[name]).toMatchObject({ status: 'up' });
  });

  it('GET /readyz is 503 problem+json naming Redis when Redis is unreachable', async () => {
    const broken = await buildTestApp({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    try {
      const res = await broken.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = res.json();
      expect(body).toMatchObject({ status: 503, code: 'NOT_READY', checks: { redis: { status: 'down' }, postgres: { status: 'up' }, data_dir: { status: 'up' } } });
      expect(body.detail).toMatch(/^not ready: redis: /);
      expect(body.detail).not.toMatch(/postgres/);
    } finally {
      await broken.close();
    }
  });

  it('GET /readyz is 503 naming Postgres and the data directory when they fail', async () => {
    const broken = await buildTestApp({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/qat`,
      DATA_DIR: '/proc/qat-cannot-write-here',
    });
    try {
      const res = await broken.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      const body = res.json();
      expect(body.checks).toMatchObject({ postgres: { status: 'down' }, data_dir: { status: 'down' }, redis: { status: 'up' } });
      expect(body.detail).toMatch(/postgres: .*data_dir: /);
    } finally {
      await broken.close();
    }
  });
});

describe('request ids', () => {
  it('echoes a caller-supplied x-request-id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.headers['x-request-id']).toBe('trace-abc.123');
  });

  it('generates one when missing or unsafe, and puts it in problem bodies', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'bad id\nwith newline' } });
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json().request_id).toBe(id);
  });
});

describe('problem+json', () => {
  it('answers unknown routes with 404 problem details', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v2/things?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toEqual({
      type: 'urn:qat:problem:route-not-found',
      title: 'Not Found',
      status: 404,
      detail: 'no route DELETE /v2/things',
      instance: '/v2/things',
      code: 'ROUTE_NOT_FOUND',
      request_id: res.headers['x-request-id'],
    });
  });
});

describe('docs', () => {
  it('serves Swagger UI and the OpenAPI document from the service itself', async () => {
    const ui = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toMatch(/swagger/i);
    const spec = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(spec.json().openapi).toBe('3.1.0');
  });
});
