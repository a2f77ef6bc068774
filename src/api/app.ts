// The HTTP application, built as a Fastify plugin tree so tests build exactly the production app
// (fastify/demo style). `buildServer` adds the server-level options: logging, request ids, limits.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import fp from 'fastify-plugin';
import multipart from '@fastify/multipart';
import type { ApiDeps } from './deps.js';
import { requireApiKey } from './plugins/auth.js';
import { registerOpenApi } from './plugins/openapi.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerQueueBoard } from './plugins/queueBoard.js';
import { authFailureLimiter, registerRateLimit } from './plugins/rateLimit.js';
import { registerUi } from './plugins/ui.js';
import { registerProblemHandlers } from './problem.js';
import { apiKeyRoutes } from './routes/apiKeys.js';
import { healthRoutes } from './routes/health.js';
import { datasetRoutes } from './routes/datasets.js';
import { modelRoutes } from './routes/models.js';
import { MULTIPART_LIMITS } from './routes/uploadParts.js';
import { webhookRoutes } from './routes/webhooks.js';
import { jobRoutes } from './routes/jobs.js';
import { jobOutputRoutes } from './routes/jobOutputs.js';
import { jobEventRoutes } from './routes/jobEvents.js';
import { ProblemSchema } from './schemas/problem.js';
import { CheckResultSchema } from './schemas/health.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's x-request-id (so traces join up across services) unless it is unsafe to log. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

async function appPlugin(fastify: FastifyInstance, deps: ApiDeps): Promise<void> {
  registerProblemHandlers(fastify);
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  fastify.addSchema(ProblemSchema);
  fastify.addSchema(CheckResultSchema);
  await registerOpenApi(fastify, { version: deps.version, docsEnabled: deps.config.docsEnabled });
  registerMetrics(fastify, deps);
  await registerQueueBoard(fastify, deps);
  await registerUi(fastify);

  await fastify.register(healthRoutes, { deps });
  await fastify.register(
    async (v1) => {
      requireApiKey(v1, deps.apiKeys, authFailureLimiter(v1, deps));
      await registerRateLimit(v1, deps);
      await v1.register(apiKeyRoutes, { deps });
      // Uploads: file bytes are counted against MAX_UPLOAD_BYTES by the blob store as they stream in;
      // busboy's per-file limit sits just above it so the store's check (413, nothing kept) fires first.
      await v1.register(multipart, { limits: { ...MULTIPART_LIMITS, fileSize: deps.config.maxUploadBytes + 1 } });
      await v1.register(datasetRoutes, { deps });
      await v1.register(modelRoutes, { deps });
      await v1.register(webhookRoutes, { deps });
      await v1.register(jobRoutes, { deps });
      await v1.register(jobOutputRoutes, { deps });
      await v1.register(jobEventRoutes, { deps });
    },
    { prefix: '/v1' },
  );
}

/** The whole API as one plugin; not encapsulated, so the server it is registered on owns the
 *  error handler and the OpenAPI document. */
export const app = fp(appPlugin, { name: 'qat-api', fastify: '5.x' });

export interface ServerOptions {
  /** A logger to share with the rest of the process; else one is built from the config. */
  loggerInstance?: FastifyBaseLogger;
  /** Logger options when no instance is given (tests pass `false`). */
  logger?: FastifyServerOptions['logger'];
}

/** The nearest `hops` proxies are trusted (what proxy-addr does for a number; Fastify's types take only its function form). */
const trustHops = (hops: number) => (_address: string, hop: number) => hop < hops;

export async function buildServer(deps: ApiDeps, options: ServerOptions = {}): Promise<FastifyInstance> {
  const logging = options.loggerInstance
    ? { loggerInstance: options.loggerInstance }
    : { logger: options.logger ?? { level: deps.config.logLevel, redact: { paths: ['req.headers.authorization'], censor: '[redacted]' } } };
  const fastify = Fastify({
    ...logging,
    genReqId: requestId,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    bodyLimit: deps.config.bodyLimitBytes,
    // request.ip (the failed-authentication limit, logs) is the forwarded client only behind trusted proxies.
    trustProxy: typeof deps.config.trustProxy === 'number' ? trustHops(deps.config.trustProxy) : deps.config.trustProxy,
    // Drop idle keep-alive sockets on close so shutdown waits only for in-flight requests.
    forceCloseConnections: 'idle',
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array' } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  await fastify.register(app, deps);
  return fastify;
}
