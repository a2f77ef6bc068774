// OpenAPI 3.1 generated from the route schemas; Swagger UI (served from the package, no CDN) at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

export async function registerOpenApi(app: FastifyInstance, opts: { version: string; docsEnabled: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'qat-service',
        version: opts.version,
        description:
          'Quantization-aware training as a service. Errors are RFC 9457 problem details (application/problem+json) with a stable `code`.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from `qat keys create`.' } },
      },
      tags: [
        { name: 'health', description: 'Liveness and readiness' },
        { name: 'api-keys', description: 'The calling tenant’s API keys' },
        { name: 'datasets', description: 'Uploaded datasets, validated by the parsers `qat run` uses' },
        { name: 'models', description: 'Uploaded TF.js/Keras models and zoo models' },
        { name: 'jobs', description: 'QAT jobs: submit, watch, cancel, retry' },
        { name: 'webhooks', description: 'Signed (Standard Webhooks) notifications of job events' },
      ],
    },
    // Components keep their schema $id as name, so clients get `Problem`, not `def-0`.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  if (opts.docsEnabled) await app.register(swaggerUi, { routePrefix: '/docs' });
}
