import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiKeyView } from '../../services/apiKeys.js';
import type { ApiDeps } from '../deps.js';
import { ApiKeyListSchema, ApiKeySchema, CreateApiKeyBodySchema, CreatedApiKeySchema, IdParamsSchema } from '../schemas/apiKeys.js';
import { problems } from '../schemas/problem.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

const toBody = (k: ApiKeyView) => ({
  id: k.id,
  prefix: k.prefix,
  name: k.name,
  created_at: k.createdAt.toISOString(),
  last_used_at: iso(k.lastUsedAt),
  revoked_at: iso(k.revokedAt),
});

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const common = { tags: ['api-keys'], security: [{ bearerAuth: [] }] };

  app.get('/api-keys', { schema: { ...common, summary: 'List the tenant’s API keys', response: { 200: ApiKeyListSchema, 401: problems[401] } } }, async (request) => ({
    items: (await deps.apiKeys.list(request.principal)).map(toBody),
  }));

  app.post(
    '/api-keys',
    {
      schema: {
        ...common,
        summary: 'Create another API key for the tenant (for rotation); the key is shown once',
        body: CreateApiKeyBodySchema,
        response: { 201: CreatedApiKeySchema, 400: problems[400], 401: problems[401], 413: problems[413], 415: problems[415] },
      },
    },
    async (request, reply) => {
      const created = await deps.apiKeys.create(request.principal, request.body?.name ?? null);
      reply.code(201).header('location', `/v1/api-keys/${created.id}`);
      return { id: created.id, prefix: created.prefix, name: created.name, created_at: created.createdAt.toISOString(), key: created.key };
    },
  );

  app.delete(
    '/api-keys/:id',
    { schema: { ...common, summary: 'Revoke an API key', params: IdParamsSchema, response: { 204: { type: 'null', description: 'Revoked.' }, 400: problems[400], 401: problems[401], 404: problems[404] } } },
    async (request, reply) => {
      await deps.apiKeys.revoke(request.principal, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.addSchema(ApiKeySchema);
};
