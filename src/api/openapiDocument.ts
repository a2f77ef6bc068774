import type { FastifyInstance } from 'fastify';

/** The OpenAPI document as committed in openapi/openapi.json (stable formatting, trailing newline). */
export function openApiDocument(app: FastifyInstance): string {
  return `${JSON.stringify(app.swagger(), null, 2)}\n`;
}

export const OPENAPI_PATH = new URL('../../openapi/openapi.json', import.meta.url);
