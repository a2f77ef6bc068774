// Webhooks: tenants subscribe a URL to job events; every event becomes one delivery per subscribed
// webhook, sent by the delivery worker through the `qat-webhooks` queue and signed as Standard Webhooks
// (webhookSignature.ts). Each HTTP attempt is recorded. Retry policy (BullMQ attempts + exponential
// backoff with jitter, WEBHOOK_MAX_ATTEMPTS / WEBHOOK_BACKOFF_MS):
// - 2xx: delivered.
// - 410 Gone: the receiver says it wants no more; the delivery fails at once (no retry).
// - anything else (3xx, other 4xx incl. 408/429, 5xx, timeouts, connection errors, a URL that now
//   resolves to a refused address): retried; after the last attempt the delivery is `failed`.
//   Other 4xx are retried on purpose: a receiver answering 401/404 while it is being deployed or its
//   secret rotated recovers without losing events, and attempts are bounded.
import type { JobsOptions, Queue } from 'bullmq';
import type { DeliveryCursor, JsonValue, StoredDelivery, StoredWebhook, WebhookRepository } from '../db/webhookRepository.js';
import { DependencyUnavailableError, NotFoundError, type FieldProblem, ValidationError } from '../errors/index.js';
import type { WebhookDeliveryPayload } from '../queue/names.js';
import type { Principal } from './apiKeys.js';
import { type HttpSender, sendWebhookRequest } from './webhookHttp.js';
import { generateSecret, parseSecret, signatureHeaders } from './webhookSignature.js';
import { parseWebhookUrl, type Resolver, resolveWebhookHost, systemResolver } from './webhookUrl.js';

/** The events a webhook can subscribe to; `*` subscribes to all, including ones added later. */
export const WEBHOOK_EVENTS = ['job.queued', 'job.started', 'job.succeeded', 'job.failed', 'job.cancelled'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const ALL_EVENTS = '*';
const SUBSCRIBABLE: readonly string[] = [...WEBHOOK_EVENTS, ALL_EVENTS];

export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_WEBHOOKS_PER_TENANT = 50;

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  createdAt: Date;
}

export interface CreatedWebhook extends WebhookView {
  /** The signing secret: returned once, at creation. */
  secret: string;
}

export interface DeliveryAttemptView {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  at: Date;
}

export interface DeliveryView {
  id: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  payload: unknown;
  createdAt: Date;
  deliveredAt: Date | null;
  attempts: DeliveryAttemptView[];
}

export interface DeliveryPage {
  items: DeliveryView[];
  nextPageToken: string | null;
}

/** The Standard Webhooks payload: `type`, `timestamp` (ISO 8601, when the event happened), `data`. */
export interface WebhookMessage {
  type: WebhookEvent;
  timestamp: string;
  data: { [key: string]: JsonValue };
}

/** Puts deliveries on the queue (the BullMQ job id is the delivery id, so adding twice is harmless). */
export type DeliveryEnqueuer = (deliveryIds: string[]) => Promise<void>;

/** The BullMQ options of a delivery job: `attempts` tries with exponential backoff and jitter. */
export function deliveryJobOptions(maxAttempts: number, backoffMs: number): JobsOptions {
  return { attempts: maxAttempts, backoff: { type: 'exponential', delay: backoffMs, jitter: 0.2 } };
}

/** An enqueuer over a (lazily created) BullMQ queue. */
export function queueEnqueuer(queue: () => Queue<WebhookDeliveryPayload>, options: { maxAttempts: number; backoffMs: number }): DeliveryEnqueuer {
  const opts = deliveryJobOptions(options.maxAttempts, options.backoffMs);
  return async (ids) => {
    await queue().addBulk(ids.map((deliveryId) => ({ name: 'deliver', data: { deliveryId }, opts: { ...opts, jobId: deliveryId } })));
  };
}

export interface WebhookServiceOptions {
  /** Allow private/loopback/link-local targets (WEBHOOK_ALLOW_PRIVATE; development and tests). */
  allowPrivate: boolean;
  enqueue: DeliveryEnqueuer;
  resolve?: Resolver;
  now?: () => Date;
}

const view = (w: StoredWebhook): WebhookView => ({ id: w.id, url: w.url, events: w.events, createdAt: w.createdAt });

const deliveryView = (d: StoredDelivery): DeliveryView => ({
  id: d.id,
  event: d.event,
  status: d.status,
  payload: d.payload,
  createdAt: d.createdAt,
  deliveredAt: d.deliveredAt,
  attempts: d.attempts,
});

function encodeCursor(c: DeliveryCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url');
}

function decodeCursor(token: string): DeliveryCursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id) || Number.isNaN(createdAt.getTime())) throw new Error('bad token');
    return { createdAt, id };
  } catch {
    throw new ValidationError([{ field: 'query.page_token', reason: 'is not a page token this API returned' }]);
  }
}

export class WebhookService {
  private readonly resolve: Resolver;
  private readonly now: () => Date;

  constructor(
    private readonly repo: WebhookRepository,
    private readonly options: WebhookServiceOptions,
  ) {
    this.resolve = options.resolve ?? systemResolver;
    this.now = options.now ?? (() => new Date());
  }

  async create(principal: Principal, input: { url: string; events: string[]; secret?: string | undefined }): Promise<CreatedWebhook> {
    const problems: FieldProblem[] = [];
    let url: string | undefined;
    const syntax = parseWebhookUrl(input.url);
    if (input.url.length > MAX_WEBHOOK_URL_LENGTH) {
      problems.push({ field: 'body.url', reason: `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` });
    } else if (!syntax.ok) {
      problems.push({ field: 'body.url', reason: syntax.reason });
    } else {
      const hosts = await resolveWebhookHost(syntax.url, { allowPrivate: this.options.allowPrivate, resolve: this.resolve });
      if (hosts.ok) url = syntax.url.href;
      else problems.push({ field: 'body.url', reason: hosts.reason });
    }
    if (input.events.length === 0) problems.push({ field: 'body.events', reason: `must name at least one event: ${SUBSCRIBABLE.join(', ')}` });
    input.events.forEach((e, i) => {
      if (!SUBSCRIBABLE.includes(e)) problems.push({ field: `body.events.${i}`, reason: `unknown event '${e}'; known: ${SUBSCRIBABLE.join(', ')}` });
      else if (input.events.indexOf(e) !== i) problems.push({ field: `body.events.${i}`, reason: `'${e}' is listed twice` });
    });
    let secret = generateSecret();
    if (input.secret !== undefined) {
      const parsed = parseSecret(input.secret);
      if (parsed.ok) secret = input.secret;
      else problems.push({ field: 'body.secret', reason: parsed.reason });
    }
    if (problems.length > 0 || url === undefined) throw new ValidationError(problems, undefined, 'INVALID_WEBHOOK');
    if ((await this.repo.list(principal.tenantId)).length >= MAX_WEBHOOKS_PER_TENANT) {
      throw new ValidationError([{ field: 'body', reason: `a tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first` }], undefined, 'TOO_MANY_WEBHOOKS');
    }
    // `*` covers everything: keep just it rather than a redundant list.
    const events = input.events.includes(ALL_EVENTS) ? [ALL_EVENTS] : [...input.events];
    const stored = await this.repo.create({ tenantId: principal.tenantId, url, events, secret });
    return { ...view(stored), secret };
  }

  async list(principal: Principal): Promise<WebhookView[]> {
    return (await this.repo.list(principal.tenantId)).map(view);
  }

  async get(principal: Principal, id: string): Promise<WebhookView> {
    const found = await this.repo.find(principal.tenantId, id);
    if (!found) throw new NotFoundError('webhook', id);
    return view(found);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    if (!(await this.repo.delete(principal.tenantId, id))) throw new NotFoundError('webhook', id);
  }

  async deliveries(principal: Principal, webhookId: string, page: { pageSize: number; pageToken?: string | undefined }): Promise<DeliveryPage> {
    const after = page.pageToken ? decodeCursor(page.pageToken) : undefined;
    const rows = await this.repo.listDeliveries(principal.tenantId, webhookId, { limit: page.pageSize + 1, ...(after ? { after } : {}) });
    if (!rows) throw new NotFoundError('webhook', webhookId);
    const items = rows.slice(0, page.pageSize);
    const last = items.at(-1);
    return { items: items.map(deliveryView), nextPageToken: rows.length > page.pageSize && last ? encodeCursor(last) : null };
  }

  /**
   * Announces an event of a tenant: one delivery per webhook subscribed to it, queued for the delivery
   * worker. Returns the delivery ids (empty when nobody listens). `data` should be thin: ids and
   * states, e.g. `{job_id, status, attempt}` (Standard Webhooks "thin payload").
   * Throws DependencyUnavailableError when Redis does not take the deliveries; they are then recorded
   * as failed with the reason, so nothing stays pending unseen. Callers in the job lifecycle should
   * log and carry on rather than fail the job over a webhook.
   */
  async emit(tenantId: string, event: WebhookEvent, data: { [key: string]: JsonValue }): Promise<string[]> {
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) throw new Error(`unknown webhook event '${event}'`);
    const message: WebhookMessage = { type: event, timestamp: this.now().toISOString(), data };
    const created = await this.repo.createDeliveries(tenantId, event, message as unknown as JsonValue);
    if (created.length === 0) return [];
    const ids = created.map((d) => d.id);
    try {
      await this.options.enqueue(ids);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const at = this.now();
      await Promise.all(ids.map((id) => this.repo.recordAttempt(id, { statusCode: null, error: `could not be queued: ${reason}`, durationMs: 0, at }, 'failed')));
      throw new DependencyUnavailableError('redis', `webhook deliveries could not be queued: ${reason}`, { cause: err });
    }
    return ids;
  }
}

export interface WebhookDeliveryOptions {
  allowPrivate: boolean;
  /** Deadline of one HTTP attempt (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  userAgent: string;
  resolve?: Resolver;
  send?: HttpSender;
  now?: () => Date;
}

export type DeliveryOutcome =
  | { kind: 'delivered'; attempt: number; statusCode: number }
  /** Failed this time; try again later. */
  | { kind: 'retry'; attempt: number; reason: string }
  /** Failed for good (410 Gone, or this was the last attempt). */
  | { kind: 'failed'; attempt: number; reason: string }
  /** Nothing to send: the delivery is gone (webhook deleted) or already settled. */
  | { kind: 'skipped'; reason: string };

/** Serialises the stored message with its keys in the documented order (jsonb does not keep order). */
export function messageBody(payload: unknown): string {
  const p = payload as Partial<WebhookMessage>;
  return JSON.stringify({ type: p.type, timestamp: p.timestamp, data: p.data });
}

/** Sends one delivery once: the delivery worker's use case. */
export class WebhookDeliveryService {
  private readonly resolve: Resolver;
  private readonly send: HttpSender;
  private readonly now: () => Date;

  constructor(
    private readonly repo: WebhookRepository,
    private readonly options: WebhookDeliveryOptions,
  ) {
    this.resolve = options.resolve ?? systemResolver;
    this.send = options.send ?? sendWebhookRequest;
    this.now = options.now ?? (() => new Date());
  }

  /** One attempt of a delivery; `final` says no retry follows a failure. */
  async deliver(deliveryId: string, { final }: { final: boolean }): Promise<DeliveryOutcome> {
    const delivery = await this.repo.loadDelivery(deliveryId);
    if (!delivery) return { kind: 'skipped', reason: 'the delivery no longer exists (webhook deleted)' };
    if (delivery.status !== 'pending') return { kind: 'skipped', reason: `the delivery is already ${delivery.status}` };

    const at = this.now();
    const failure = async (error: string, statusCode: number | null, durationMs: number, permanent: boolean): Promise<DeliveryOutcome> => {
      const settle = final || permanent;
      const attempt = await this.repo.recordAttempt(deliveryId, { statusCode, error, durationMs, at }, settle ? 'failed' : undefined);
      if (attempt === null) return { kind: 'skipped', reason: 'the delivery no longer exists (webhook deleted)' };
      return { kind: settle ? 'failed' : 'retry', attempt, reason: error };
    };

    const syntax = parseWebhookUrl(delivery.url);
    if (!syntax.ok) return failure(`url ${syntax.reason}`, null, 0, true);
    // Checked again now: the name may resolve elsewhere than when the webhook was created.
    const hosts = await resolveWebhookHost(syntax.url, { allowPrivate: this.options.allowPrivate, resolve: this.resolve });
    if (!hosts.ok) return failure(hosts.reason, null, 0, false);

    const body = messageBody(delivery.payload);
    const timestamp = Math.floor(at.getTime() / 1000);
    const headers = { ...signatureHeaders(delivery.secret, delivery.id, timestamp, body), 'user-agent': this.options.userAgent };
    const result = await this.send({ url: syntax.url, address: hosts.addresses[0]!, headers, body, timeoutMs: this.options.timeoutMs });

    const code = result.statusCode;
    if (code !== null && code >= 200 && code < 300) {
      const attempt = await this.repo.recordAttempt(deliveryId, { statusCode: code, error: null, durationMs: result.durationMs, at }, 'delivered');
      if (attempt === null) return { kind: 'skipped', reason: 'the delivery no longer exists (webhook deleted)' };
      return { kind: 'delivered', attempt, statusCode: code };
    }
    const error = result.error ?? (code === null ? 'no response' : `HTTP ${code}`);
    return failure(error, code, result.durationMs, code === 410);
  }
}
