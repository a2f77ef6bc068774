// /v1/datasets: multipart upload (streamed to the blob store, validated by the dataset parsers of
// `qat run`), read, list, delete. The use cases live in DatasetService; this file only maps HTTP to them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DatasetView } from '../../services/datasets.js';
import type { ApiDeps } from '../deps.js';
import { IdParamsSchema } from '../schemas/apiKeys.js';
import { type DatasetFields, DatasetFieldsSchema, DatasetListSchema, DatasetSchema, DatasetUploadFormSchema, PageQuerySchema } from '../schemas/datasets.js';
import { problemResponse, problems } from '../schemas/problem.js';
import { closeOnTooLarge, multipartBodyPlaceholder, receiveUpload } from './uploadParts.js';

export const datasetBody = (d: DatasetView) => ({
  id: d.id,
  name: d.name,
  sha256: d.sha256,
  size_bytes: d.sizeBytes,
  format: d.format,
  task: d.task,
  samples: d.samples,
  test_samples: d.testSamples,
  features: d.features,
  sample_shape: d.sampleShape,
  classes: d.classes,
  ...(d.classNames ? { class_names: d.classNames } : {}),
  created_at: d.createdAt.toISOString(),
});

export const datasetRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const common = { tags: ['datasets'], security: [{ bearerAuth: [] }] };
  app.addSchema(DatasetSchema);
  // Any other media type reaches the handler, which names the missing `file` part (400) rather than
  // answering 415: the fix is the same either way, and the problem says what to send.
  app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  app.post(
    '/datasets',
    {
      preValidation: multipartBodyPlaceholder,
      schema: {
        ...common,
        summary: 'Upload a dataset',
        description:
          'multipart/form-data: the file(s) in parts named `file`, and optionally the fields `name`, `format`, `label_column`, `skip_rows`, `task` (the data options of `qat run`). ' +
          'The files are streamed to storage with their SHA-256 computed on the way, then parsed in full by the parsers `qat run` uses (off the request thread). ' +
          'Archives are unpacked within limits (total size, entry count, compression ratio); absolute paths, `..` and links are refused. Nothing is kept when the upload fails.',
        body: { content: { 'multipart/form-data': { schema: DatasetUploadFormSchema } } },
        response: {
          201: DatasetSchema,
          400: problems[400],
          401: problems[401],
          413: problemResponse('The upload exceeds MAX_UPLOAD_BYTES (all files together); nothing was stored.'),
          422: problemResponse('The files are not a valid dataset (code INVALID_DATASET): `errors` names the file, row, column, array or option and why; nothing was stored.'),
        },
      },
    },
    async (request, reply) => {
      const upload = deps.datasets.beginUpload(request.principal);
      let fields: DatasetFields;
      try {
        fields = (await receiveUpload(request, upload, DatasetFieldsSchema, deps.config.maxUploadBytes)) as DatasetFields;
      } catch (err) {
        await upload.abort();
        closeOnTooLarge(reply, err);
        throw err;
      }
      const dataset = await upload.finish({
        ...(fields.name !== undefined ? { name: fields.name } : {}),
        options: {
          ...(fields.format !== undefined ? { format: fields.format } : {}),
          ...(fields.label_column !== undefined ? { labelColumn: fields.label_column } : {}),
          ...(fields.skip_rows !== undefined ? { skipRows: fields.skip_rows } : {}),
          ...(fields.task !== undefined ? { task: fields.task } : {}),
        },
      });
      reply.code(201).header('location', `/v1/datasets/${dataset.id}`);
      return datasetBody(dataset);
    },
  );

  app.get(
    '/datasets',
    { schema: { ...common, summary: 'List datasets, newest first', querystring: PageQuerySchema, response: { 200: DatasetListSchema, 400: problems[400], 401: problems[401], 422: problems[422] } } },
    async (request) => {
      const page = await deps.datasets.list(request.principal, { pageSize: request.query.page_size, pageToken: request.query.page_token });
      return { items: page.items.map(datasetBody), next_page_token: page.nextPageToken };
    },
  );

  app.get(
    '/datasets/:id',
    { schema: { ...common, summary: 'A dataset', params: IdParamsSchema, response: { 200: DatasetSchema, 400: problems[400], 401: problems[401], 404: problems[404] } } },
    async (request) => datasetBody(await deps.datasets.get(request.principal, request.params.id)),
  );

  app.delete(
    '/datasets/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a dataset and its files',
        description: 'Refused (409 DATASET_IN_USE) while any job references it, finished or not: delete those jobs first.',
        params: IdParamsSchema,
        response: { 204: { type: 'null', description: 'Deleted.' }, 400: problems[400], 401: problems[401], 404: problems[404], 409: problems[409] },
      },
    },
    async (request, reply) => {
      await deps.datasets.delete(request.principal, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
