// /v1/jobs: submit (idempotent), read with transitions and report, list with filters and paging,
// cancel, retry, delete. The use cases live in JobService; this file only maps HTTP to them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { StoredJob, StoredTransition } from '../../services/jobs.js';
import type { ApiDeps } from '../deps.js';
import { IdParamsSchema } from '../schemas/apiKeys.js';
import { IdempotencyHeadersSchema, JobListSchema, JobSchema, ListJobsQuerySchema, RunConfigSchema, SubmitJobBodySchema } from '../schemas/jobs.js';
import { problems } from '../schemas/problem.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function jobBody(job: StoredJob, transitions?: StoredTransition[]) {
  return {
    id: job.id,
    status: job.status,
    phase: job.phase,
    progress: (job.progress ?? {}) as Record<string, unknown>,
    model_id: job.modelId,
    dataset_id: job.datasetId,
    config: job.config as Record<string, unknown>,
    attempt: job.attempt,
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    ...(transitions ? { transitions: transitions.map((t) => ({ from: t.fromStatus, to: t.toStatus, phase: t.phase, message: t.message, at: t.at.toISOString() })) } : {}),
    report: (job.report ?? null) as Record<string, unknown> | null,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
  };
}

const serializedJobs = new WeakMap<object, string>();

/** Accepts `status=A&status=B` and `status=A,B`. */
const statuses = (v: string[] | undefined) => v?.flatMap((s) => s.split(',')).filter(Boolean) as Parameters<ApiDeps['jobs']['list']>[1]['status'];

export const jobRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const common = { tags: ['jobs'], security: [{ bearerAuth: [] }] };
  app.addSchema(RunConfigSchema);
  app.addSchema(JobSchema);

  app.post(
    '/jobs',
    {
      schema: {
        ...common,
        summary: 'Submit a QAT job',
        description:
          'Checks the config, that the model and dataset exist, and that the model can take the dataset before queueing: a mismatch (input shape against the dataset’s sample shape, output units against its classes or regression targets, a classifier head that is not logits or softmax, layers that cannot be quantized, a zoo model that cannot take the samples — zoo:cnn and zoo:ds-cnn need [height, width, channels] images, zoo:cnn at least 10×10) is 422 `MODEL_INCOMPATIBLE` with one `{field: "model_id", reason}` per problem. The worker checks the loaded files again and fails a job that still does not fit with the same code. With `Idempotency-Key`, a replay returns the same job (header `idempotent-replayed: true`).',
        headers: IdempotencyHeadersSchema,
        body: SubmitJobBodySchema,
        response: { 202: JobSchema, 400: problems[400], 401: problems[401], 413: problems[413], 415: problems[415], 422: problems[422] },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key'];
      const { job, created } = await deps.jobs.submit(request.principal.tenantId, request.body, key);
      reply.code(202).header('location', `/v1/jobs/${job.id}`);
      if (!created) reply.header('idempotent-replayed', 'true');
      return jobBody(job);
    },
  );

  app.get(
    '/jobs',
    { schema: { ...common, summary: 'List jobs, newest first', querystring: ListJobsQuerySchema, response: { 200: JobListSchema, 400: problems[400], 401: problems[401], 422: problems[422] } } },
    async (request) => {
      const q = request.query;
      const page = await deps.jobs.list(request.principal.tenantId, { ...q, status: statuses(q.status as string[] | undefined) });
      return { items: page.items.map((j) => jobBody(j)), next_page_token: page.next_page_token };
    },
  );

  app.get(
    '/jobs/:id',
    { schema: { ...common, summary: 'A job with its transitions and, once done, its report', params: IdParamsSchema, response: { 200: JobSchema, 400: problems[400], 401: problems[401], 404: problems[404] } } },
    async (request, reply) => {
      const found = await deps.jobs.get(request.principal.tenantId, request.params.id);
      // Requests answered by one shared read (src/db/freshReads.ts) get the same object: serialize it once.
      let body = serializedJobs.get(found);
      if (body === undefined) {
        body = reply.serialize(jobBody(found.job, found.transitions)) as string;
        serializedJobs.set(found, body);
      }
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.post(
    '/jobs/:id/cancel',
    {
      schema: {
        ...common,
        summary: 'Cancel a job',
        description: 'A queued job is CANCELLED at once; a running one moves to CANCELLING and its worker stops within seconds. 409 if the job already ended.',
        params: IdParamsSchema,
        response: { 202: JobSchema, 400: problems[400], 401: problems[401], 404: problems[404], 409: problems[409] },
      },
    },
    async (request, reply) => {
      reply.code(202);
      return jobBody(await deps.jobs.cancel(request.principal.tenantId, request.params.id));
    },
  );

  app.post(
    '/jobs/:id/retry',
    {
      schema: { ...common, summary: 'Retry a FAILED or CANCELLED job as a new attempt', params: IdParamsSchema, response: { 202: JobSchema, 400: problems[400], 401: problems[401], 404: problems[404], 409: problems[409] } },
    },
    async (request, reply) => {
      reply.code(202);
      return jobBody(await deps.jobs.retry(request.principal.tenantId, request.params.id));
    },
  );

  app.delete(
    '/jobs/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a finished job and its artifacts',
        params: IdParamsSchema,
        response: { 204: { type: 'null', description: 'Deleted.' }, 400: problems[400], 401: problems[401], 404: problems[404], 409: problems[409] },
      },
    },
    async (request, reply) => {
      await deps.jobs.delete(request.principal.tenantId, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
