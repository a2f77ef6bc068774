// What a job produced, over HTTP: artifacts listed and downloaded (ETag = sha256, Content-Length,
// single byte ranges, If-None-Match), and metrics (latest per name; a name's series, paged).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ApiDeps } from '../deps.js';
import { IdParamsSchema } from '../schemas/apiKeys.js';
import { problems, problemResponse } from '../schemas/problem.js';

const CONTENT_TYPES: [RegExp, string][] = [
  [/\.json$/, 'application/json'],
  [/\.onnx$/, 'application/octet-stream'],
  [/\.html$/, 'text/html; charset=utf-8'],
];
const contentType = (name: string) => CONTENT_TYPES.find(([re]) => re.test(name))?.[1] ?? 'application/octet-stream';

const ArtifactSchema = Type.Object({ name: Type.String(), kind: Type.String(), size_bytes: Type.Integer(), sha256: Type.String(), created_at: Type.String({ format: 'date-time' }) });
const MetricPointSchema = Type.Object({ step: Type.Integer(), epoch: Type.Integer(), value: Type.Number(), time: Type.String({ format: 'date-time' }), shard: Type.Union([Type.Integer(), Type.Null()]) });
const ArtifactParams = Type.Object({ id: Type.String({ format: 'uuid' }), '*': Type.String({ minLength: 1, maxLength: 300 }) });
const MetricParams = Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String({ minLength: 1, maxLength: 200 }) });

export const jobOutputRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const common = { tags: ['jobs'], security: [{ bearerAuth: [] }] };
  const outputs = deps.jobOutputs;

  app.get(
    '/jobs/:id/artifacts',
    { schema: { ...common, summary: 'The files a job produced', params: IdParamsSchema, response: { 200: Type.Object({ items: Type.Array(ArtifactSchema) }), 401: problems[401], 404: problems[404] } } },
    async (request) => ({
      items: (await outputs.artifacts(request.principal.tenantId, request.params.id)).map((a) => ({ name: a.name, kind: a.kind, size_bytes: a.sizeBytes, sha256: a.sha256, created_at: a.createdAt.toISOString() })),
    }),
  );

  app.get(
    '/jobs/:id/artifacts/*',
    {
      schema: {
        ...common,
        summary: 'Download an artifact (e.g. model.int8.onnx, tfjs-int8/model.json)',
        description: 'Streams the file. `ETag` is its sha256 (quoted); `If-None-Match` answers 304; one `Range: bytes=a-b` answers 206 with `Content-Range`, an unsatisfiable one 416. 409 while the job may still produce the file.',
        params: ArtifactParams,
        response: {
          200: { description: 'The file.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          206: { description: 'The requested byte range.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          304: { type: 'null', description: 'Not modified (If-None-Match matched the sha256).' },
          401: problems[401],
          404: problems[404],
          409: problems[409],
          416: problemResponse('The byte range is outside the file.'),
        },
      },
    },
    async (request, reply) => {
      const name = request.params['*'];
      const tenantId = request.principal.tenantId;
      const etag = `"${(await outputs.artifact(tenantId, request.params.id, name)).sha256}"`;
      // If-None-Match: `*`, or a list of (possibly weak) tags; any match means the client has these bytes.
      const inm = request.headers['if-none-match'];
      if (inm && (inm.trim() === '*' || inm.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag))) return reply.code(304).header('etag', etag).send();
      const d = await outputs.download(tenantId, request.params.id, name, request.headers.range);
      reply.header('etag', etag).header('accept-ranges', 'bytes').header('content-type', contentType(name));
      reply.header('content-disposition', `attachment; filename="${name.split('/').pop()}"`);
      if (d.range) {
        reply.code(206).header('content-range', `bytes ${d.range.start}-${d.range.end}/${d.artifact.sizeBytes}`).header('content-length', d.range.end - d.range.start + 1);
      } else reply.header('content-length', d.artifact.sizeBytes);
      return reply.send(d.body);
    },
  );

  app.get(
    '/jobs/:id/metrics',
    {
      schema: {
        ...common,
        summary: 'The job’s metric names with their latest value',
        params: IdParamsSchema,
        response: { 200: Type.Object({ items: Type.Array(Type.Object({ name: Type.String(), count: Type.Integer(), latest: MetricPointSchema })) }), 401: problems[401], 404: problems[404] },
      },
    },
    async (request) => ({
      items: (await outputs.metrics(request.principal.tenantId, request.params.id)).map((m) => ({
        name: m.name,
        count: m.count,
        latest: { step: m.latest.step, epoch: m.latest.epoch, value: m.latest.value, time: m.latest.at.toISOString(), shard: m.latest.shard },
      })),
    }),
  );

  app.get(
    '/jobs/:id/metrics/:name',
    {
      schema: {
        ...common,
        summary: 'A metric’s time series, oldest first',
        params: MetricParams,
        querystring: Type.Object({ page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), page_token: Type.Optional(Type.String({ maxLength: 100 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(MetricPointSchema), next_page_token: Type.Union([Type.String(), Type.Null()]) }), 400: problems[400], 401: problems[401], 404: problems[404], 422: problems[422] },
      },
    },
    async (request) => {
      const page = await outputs.series(request.principal.tenantId, request.params.id, request.params.name, request.query);
      return { items: page.items.map((p) => ({ step: p.step, epoch: p.epoch, value: p.value, time: p.at.toISOString(), shard: p.shard })), next_page_token: page.next_page_token };
    },
  );
};
