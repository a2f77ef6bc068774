import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DeliveryView, WebhookView } from '../../services/webhooks.js';
import type { ApiDeps } from '../deps.js';
import { problems } from '../schemas/problem.js';
import {
  CreatedWebhookSchema,
  CreateWebhookBodySchema,
  DeliveryQuerySchema,
  SIGNATURE_DOC,
  WebhookAttemptSchema,
  WebhookDeliveryListSchema,
  WebhookDeliverySchema,
  WebhookEventSchema,
  WebhookIdParamsSchema,
  WebhookListSchema,
  WebhookSchema,
  webhookProblems,
} from '../schemas/webhooks.js';

const toBody = (w: WebhookView) => ({ id: w.id, url: w.url, events: w.events, created_at: w.createdAt.toISOString() });

const deliveryBody = (d: DeliveryView) => ({
  id: d.id,
  event: d.event,
  status: d.status,
  payload: d.payload as { type: string; timestamp: string; data: Record<string, unknown> },
  created_at: d.createdAt.toISOString(),
  delivered_at: d.deliveredAt ? d.deliveredAt.toISOString() : null,
  attempts: d.attempts.map((a) => ({ attempt: a.attempt, status_code: a.statusCode, error: a.error, duration_ms: a.durationMs, at: a.at.toISOString() })),
});

export const webhookRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps }> = async (app, { deps }) => {
  const common = { tags: ['webhooks'], security: [{ bearerAuth: [] }] };
  app.addSchema(WebhookEventSchema);
  app.addSchema(WebhookSchema);
  app.addSchema(WebhookAttemptSchema);
  app.addSchema(WebhookDeliverySchema);

  app.post(
    '/webhooks',
    {
      schema: {
        ...common,
        summary: 'Subscribe a URL to job events; the signing secret is shown once',
        description: SIGNATURE_DOC,
        body: CreateWebhookBodySchema,
        response: { 201: CreatedWebhookSchema, 400: problems[400], 401: problems[401], 413: problems[413], 415: problems[415], 422: webhookProblems.refused },
      },
    },
    async (request, reply) => {
      const created = await deps.webhooks.create(request.principal, request.body);
      reply.code(201).header('location', `/v1/webhooks/${created.id}`);
      return { ...toBody(created), secret: created.secret };
    },
  );

  app.get(
    '/webhooks',
    { schema: { ...common, summary: 'List the tenant’s webhooks (never their secrets)', response: { 200: WebhookListSchema, 401: problems[401] } } },
    async (request) => ({ items: (await deps.webhooks.list(request.principal)).map(toBody) }),
  );

  app.get(
    '/webhooks/:id',
    {
      schema: { ...common, summary: 'One webhook (without its secret)', params: WebhookIdParamsSchema, response: { 200: WebhookSchema, 400: problems[400], 401: problems[401], 404: problems[404] } },
    },
    async (request) => toBody(await deps.webhooks.get(request.principal, request.params.id)),
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a webhook with its delivery history; queued deliveries are dropped',
        params: WebhookIdParamsSchema,
        response: { 204: { type: 'null', description: 'Deleted.' }, 400: problems[400], 401: problems[401], 404: problems[404] },
      },
    },
    async (request, reply) => {
      await deps.webhooks.delete(request.principal, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        ...common,
        summary: 'The webhook’s deliveries, newest first, each with every attempt',
        params: WebhookIdParamsSchema,
        querystring: DeliveryQuerySchema,
        response: { 200: WebhookDeliveryListSchema, 400: problems[400], 401: problems[401], 404: problems[404], 422: webhookProblems.badPageToken },
      },
    },
    async (request) => {
      const page = await deps.webhooks.deliveries(request.principal, request.params.id, {
        pageSize: request.query.page_size ?? 20,
        pageToken: request.query.page_token,
      });
      return { items: page.items.map(deliveryBody), next_page_token: page.nextPageToken };
    },
  );
};
