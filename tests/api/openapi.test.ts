import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_PATH, openApiDocument } from '../../src/api/openapiDocument.js';
import { buildTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => t.close());

describe('OpenAPI contract', () => {
  it('the committed openapi/openapi.json is what the code generates (run `npm run openapi` after changing routes)', async () => {
    const committed = await readFile(OPENAPI_PATH, 'utf8');
    expect(committed).toBe(openApiDocument(t.app));
  });

  it('is OpenAPI 3.1 with named components and problem responses', () => {
    const doc = t.app.swagger() as unknown as {
      openapi: string;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, unknown> }> }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Problem', 'ApiKey', 'CheckResult']));
    expect(doc.components.securitySchemes).toHaveProperty('bearerAuth');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/v1/api-keys', '/v1/api-keys/{id}']));
    expect(doc.paths['/v1/api-keys']!.post!.responses['401']).toBeDefined();
  });
});
