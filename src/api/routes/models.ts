// /v1/models: upload a TF.js LayersModel / Keras JSON (multipart, or an archive of the files) or name a
// zoo architecture (JSON), read, list, delete. The use cases live in ModelService.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ModelView } from '../../services/models.js';
import type { ApiDeps } from '../deps.js';
import { IdParamsSchema } from '../schemas/apiKeys.js';
import { PageQuerySchema } from '../schemas/datasets.js';
import { ModelFieldsSchema, ModelListSchema, ModelSchema, ModelUploadFormSchema, type ZooModelRequest, ZooModelRequestSchema } from '../schemas/models.js';
import { problemResponse, problems } from '../schemas/problem.js';
import { badRequest, closeOnTooLarge, multipartBodyPlaceholder, receiveUpload } from './uploadParts.js';

export const modelBody = (m: ModelView) => ({
  id: m.id,
  name: m.name,
  format: m.format,
  sha256: m.sha256,
  size_bytes: m.sizeBytes,
  params: m.params,
  layers: m.layers.map((l) => ({ name: l.name, class_name: l.className })),
  input_shape: m.inputShape,
  output_shape: m.outputShape,
  has_weights: m.hasWeights,
  zoo: m.zoo,
  unsupported_layers: m.unsupportedLayers.map((l) => ({ name: l.name, class_name: l.className, reason: l.reason })),
  created_at: m.createdAt.toISOString(),
});

export const modelRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const common = { tags: ['models'], security: [{ bearerAuth: [] }] };
  app.addSchema(ModelSchema);
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.post(
    '/models',
    {
      preValidation: multipartBodyPlaceholder,
      schema: {
        ...common,
        summary: 'Upload a model, or name a zoo architecture',
        description:
          'multipart/form-data: a TF.js model.json and its weight files, a Keras JSON (optionally with a weights manifest and its files), or one archive of those, in parts named `file`, and optionally `name`. ' +
          'Checked by the importer `qat run` uses, off the request thread: the parameter limit (MAX_MODEL_PARAMS) on the declared shapes and the weight files’ byte lengths against the manifest, before anything is allocated. ' +
          'application/json: `{"zoo": "cnn", "width": 1}` names a reference architecture, built at job time for the job’s dataset.',
        body: { content: { 'application/json': { schema: ZooModelRequestSchema }, 'multipart/form-data': { schema: ModelUploadFormSchema } } },
        response: {
          201: ModelSchema,
          400: problems[400],
          401: problems[401],
          413: problemResponse('The upload exceeds MAX_UPLOAD_BYTES (all files together); nothing was stored.'),
          422: problemResponse('Not a model this service can import (code INVALID_MODEL): `errors` names `model`, `weights`, `zoo`, `width` or `file` and why; nothing was stored.'),
        },
      },
    },
    async (request, reply) => {
      let model: ModelView;
      if (request.isMultipart()) {
        const upload = deps.models.beginUpload(request.principal);
        let fields: { name?: string };
        try {
          fields = await receiveUpload(request, upload, ModelFieldsSchema, deps.config.maxUploadBytes);
        } catch (err) {
          await upload.abort();
          closeOnTooLarge(reply, err);
          throw err;
        }
        model = await upload.finish(fields.name !== undefined ? { name: fields.name } : {});
      } else if (request.mediaType === 'application/json') {
        const body = request.body as ZooModelRequest;
        model = await deps.models.createZoo(request.principal, body);
      } else {
        throw badRequest([{ field: 'file', reason: `send multipart/form-data with the model in parts named file, or application/json {"zoo": NAME} (content-type was ${request.headers['content-type'] ?? 'none'})` }]);
      }
      reply.code(201).header('location', `/v1/models/${model.id}`);
      return modelBody(model);
    },
  );

  app.get(
    '/models',
    { schema: { ...common, summary: 'List models, newest first', querystring: PageQuerySchema, response: { 200: ModelListSchema, 400: problems[400], 401: problems[401], 422: problems[422] } } },
    async (request) => {
      const page = await deps.models.list(request.principal, { pageSize: request.query.page_size, pageToken: request.query.page_token });
      return { items: page.items.map(modelBody), next_page_token: page.nextPageToken };
    },
  );

  app.get(
    '/models/:id',
    { schema: { ...common, summary: 'A model', params: IdParamsSchema, response: { 200: ModelSchema, 400: problems[400], 401: problems[401], 404: problems[404] } } },
    async (request) => modelBody(await deps.models.get(request.principal, request.params.id)),
  );

  app.delete(
    '/models/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a model and its files',
        description: 'Refused (409 MODEL_IN_USE) while any job references it, finished or not: delete those jobs first.',
        params: IdParamsSchema,
        response: { 204: { type: 'null', description: 'Deleted.' }, 400: problems[400], 401: problems[401], 404: problems[404], 409: problems[409] },
      },
    },
    async (request, reply) => {
      await deps.models.delete(request.principal, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
