// Bearer-key authentication for every route registered inside the scope that uses this plugin.
import type { FastifyInstance } from 'fastify';
import type { ApiKeyService, Principal } from '../../services/apiKeys.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export function requireApiKey(app: FastifyInstance, apiKeys: ApiKeyService): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    request.principal = await apiKeys.authenticate(request.headers.authorization);
  });
}
