// Bearer-key authentication for every route registered inside the scope that uses this plugin, and
// the failed-authentication limit per client address (AUTH_FAILURE_MAX, see plugins/rateLimit.ts).
//
// A key verified within the last few seconds is answered from ApiKeyService's cache with no other work.
// Otherwise an address over its failure budget is refused (429) before its key is even looked at, so a
// client guessing keys learns nothing more once it is over the budget; a request whose key is missing
// or invalid counts against its address and gets 401.
import type { FastifyInstance } from 'fastify';
import { RateLimitedError, UnauthorizedError } from '../../errors/index.js';
import type { ApiKeyService, Principal } from '../../services/apiKeys.js';
import type { AuthFailureLimiter } from './rateLimit.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

class TooManyAuthFailuresError extends RateLimitedError {
  constructor(retryAfterSeconds: number) {
    super(retryAfterSeconds);
    this.message = `too many requests with a missing or invalid API key from this address; retry after ${retryAfterSeconds}s`;
  }
}

export function requireApiKey(app: FastifyInstance, apiKeys: ApiKeyService, failures?: AuthFailureLimiter): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    const authorization = request.headers.authorization;
    const cached = apiKeys.cached(authorization);
    if (cached) {
      request.principal = cached;
      return;
    }
    if (failures) {
      const wait = await failures.retryAfter(request.ip);
      if (wait > 0) throw new TooManyAuthFailuresError(wait);
    }
    try {
      request.principal = await apiKeys.authenticate(authorization);
    } catch (err) {
      if (failures && err instanceof UnauthorizedError) await failures.failed(request.ip);
      throw err;
    }
  });
}
