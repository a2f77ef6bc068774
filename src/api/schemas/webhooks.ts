import { type Static, Type } from 'typebox';
import { ALL_EVENTS, MAX_WEBHOOK_URL_LENGTH, WEBHOOK_EVENTS } from '../../services/webhooks.js';
import { problemResponse } from './problem.js';

const EVENT_NAMES = [...WEBHOOK_EVENTS, ALL_EVENTS];
const EVENTS_TEXT = `One of ${EVENT_NAMES.map((e) => `\`${e}\``).join(', ')} (\`*\`: every event, including ones added later).`;

export const WebhookEventSchema = Type.Enum(EVENT_NAMES, { $id: 'WebhookEvent', description: EVENTS_TEXT });

export const WebhookSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    url: Type.String({ format: 'uri' }),
    events: Type.Array(Type.Ref('WebhookEvent')),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Webhook' },
);
export type WebhookBody = Static<typeof WebhookSchema>;

export const CreatedWebhookSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    url: Type.String({ format: 'uri' }),
    events: Type.Array(Type.Ref('WebhookEvent')),
    created_at: Type.String({ format: 'date-time' }),
    secret: Type.String({
      description: 'The Standard Webhooks signing secret (`whsec_` + base64 of the key bytes). Shown only in this response; store it now.',
    }),
  },
  { $id: 'CreatedWebhook' },
);

// Semantics (scheme, resolvable public host, known events, secret form) are checked by the service and
// answered 422 naming the field; the schema only rejects the wrong shapes (400).
export const CreateWebhookBodySchema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: MAX_WEBHOOK_URL_LENGTH,
      description:
        'http(s) URL without credentials. Its host must resolve only to public addresses (private, loopback, link-local, CGNAT, multicast, metadata and similar ranges are refused, also as IPv4-mapped IPv6); checked again before every delivery.',
      examples: ['https://hooks.example.com/qat'],
    }),
    events: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16, description: `Events to receive. ${EVENTS_TEXT}`, examples: [['job.succeeded', 'job.failed']] }),
    secret: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'Your own signing secret, `whsec_` + standard base64 of 24–64 random bytes; generated when absent.',
      }),
    ),
  },
  { additionalProperties: false, $id: 'CreateWebhookRequest' },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBodySchema>;

export const WebhookListSchema = Type.Object({ items: Type.Array(Type.Ref('Webhook')) }, { $id: 'WebhookList' });

export const WebhookAttemptSchema = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1, description: '1 for the first try.' }),
    status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'The receiver’s HTTP status; null when no response arrived.' }),
    error: Type.Union([Type.String(), Type.Null()], {
      description: 'Why the attempt failed: network error, timeout, refused address, or `HTTP <status>: <start of the response body>`. Null on success.',
    }),
    duration_ms: Type.Integer({ minimum: 0 }),
    at: Type.String({ format: 'date-time', description: 'When the attempt started; its `webhook-timestamp` is this time in unix seconds.' }),
  },
  { $id: 'WebhookAttempt' },
);

export const WebhookDeliverySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'Also the `webhook-id` header of every attempt: use it to drop duplicates.' }),
    event: Type.String(),
    status: Type.Enum(['pending', 'delivered', 'failed'], {
      description: '`pending` while attempts remain, `delivered` after a 2xx, `failed` after the last attempt or a 410 Gone.',
    }),
    payload: Type.Object(
      { type: Type.String(), timestamp: Type.String({ format: 'date-time' }), data: Type.Object({}, { additionalProperties: true }) },
      { additionalProperties: true, description: 'The message body sent (Standard Webhooks `{type, timestamp, data}`).' },
    ),
    created_at: Type.String({ format: 'date-time' }),
    delivered_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    attempts: Type.Array(Type.Ref('WebhookAttempt')),
  },
  { $id: 'WebhookDelivery' },
);

export const WebhookDeliveryListSchema = Type.Object(
  {
    items: Type.Array(Type.Ref('WebhookDelivery'), { description: 'Newest first.' }),
    next_page_token: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `page_token` for the next page; null on the last page.' }),
  },
  { $id: 'WebhookDeliveryList' },
);

export const DeliveryQuerySchema = Type.Object(
  {
    page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    page_token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const WebhookIdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const webhookProblems = {
  refused: problemResponse(
    'The webhook is refused (`INVALID_WEBHOOK`): `errors` names `body.url`, `body.events` / `body.events.<i>` or `body.secret` and why; or the tenant already has the maximum of webhooks (`TOO_MANY_WEBHOOKS`).',
  ),
  badPageToken: problemResponse('`page_token` is not one this API returned.'),
} as const;

export const SIGNATURE_DOC = [
  'Deliveries are `POST`s with a JSON body `{"type": "<event>", "timestamp": "<ISO 8601>", "data": {...}}`, signed as Standard Webhooks (https://www.standardwebhooks.com/):',
  '`webhook-id` (the delivery id, the same on every retry), `webhook-timestamp` (unix seconds of this attempt) and',
  '`webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")>` where `key` is the base64-decoded part of the secret after `whsec_`.',
  'Verify against the raw body, compare in constant time, and reject timestamps more than a few minutes off.',
  'A 2xx answer delivers; 410 Gone stops at once; anything else (or no answer within the timeout) is retried with exponential backoff, each attempt listed under `/deliveries`.',
].join(' ');
