import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiDeps } from '../deps.js';
import { buildProblem, sendProblem } from '../problem.js';
import { HealthSchema, NotReadySchema, ReadySchema } from '../schemas/health.js';

const startedAt = Date.now();

export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up and serving HTTP',
        response: { 200: HealthSchema },
      },
    },
    async () => ({ status: 'ok' as const, version: deps.version, uptime_s: Math.round((Date.now() - startedAt) / 1000) }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: Postgres, Redis and the data directory all answer',
        response: { 200: ReadySchema, 503: { description: 'A dependency is down; `checks` says which and why.', content: { 'application/problem+json': { schema: NotReadySchema } } } },
      },
    },
    async (request, reply) => {
      const report = await deps.readiness.check();
      if (report.ready) return { status: 'ready' as const, checks: report.checks };
      const down = Object.entries(report.checks)
        .filter(([, c]) => c.status === 'down')
        .map(([name, c]) => `${name}: ${c.error ?? 'down'}`);
      return sendProblem(reply, buildProblem(request, 503, 'NOT_READY', `not ready: ${down.join('; ')}`, { checks: report.checks }));
    },
  );
};
