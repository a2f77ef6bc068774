// Webhooks, their deliveries and every delivery attempt. Reads for the API never select the secret;
// only the delivery path (loadDelivery) does, to sign.
import type { Db } from './client.js';
import type { Prisma } from './generated/client.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StoredWebhook {
  id: string;
  tenantId: string;
  url: string;
  events: string[];
  createdAt: Date;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface StoredAttempt {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  at: Date;
}

export interface StoredDelivery {
  id: string;
  webhookId: string;
  event: string;
  payload: unknown;
  status: DeliveryStatus;
  createdAt: Date;
  deliveredAt: Date | null;
  attempts: StoredAttempt[];
}

/** What the delivery worker needs to send one delivery (includes the secret). */
export interface DeliveryToSend {
  id: string;
  event: string;
  payload: unknown;
  status: DeliveryStatus;
  url: string;
  secret: string;
}

export interface DeliveryCursor {
  createdAt: Date;
  id: string;
}

export interface WebhookRepository {
  create(input: { tenantId: string; url: string; events: string[]; secret: string }): Promise<StoredWebhook>;
  list(tenantId: string): Promise<StoredWebhook[]>;
  find(tenantId: string, id: string): Promise<StoredWebhook | null>;
  /** False when the tenant has no such webhook. Its deliveries and attempts go with it. */
  delete(tenantId: string, id: string): Promise<boolean>;
  /** Newest first, after `cursor` (exclusive); null when the tenant has no such webhook. */
  listDeliveries(tenantId: string, webhookId: string, page: { limit: number; after?: DeliveryCursor }): Promise<StoredDelivery[] | null>;
  /** One pending delivery per webhook of the tenant subscribed to `event` (or to `*`). */
  createDeliveries(tenantId: string, event: string, payload: JsonValue): Promise<{ id: string; webhookId: string }[]>;
  loadDelivery(id: string): Promise<DeliveryToSend | null>;
  /**
   * Appends an attempt (numbered after the existing ones) and, with `outcome`, settles a still-pending
   * delivery. Null when the delivery no longer exists (its webhook was deleted).
   */
  recordAttempt(
    deliveryId: string,
    attempt: { statusCode: number | null; error: string | null; durationMs: number; at: Date },
    outcome?: 'delivered' | 'failed',
  ): Promise<number | null>;
}

const WEBHOOK_FIELDS = { id: true, tenantId: true, url: true, events: true, createdAt: true } as const;
const ATTEMPT_FIELDS = { attempt: true, statusCode: true, error: true, durationMs: true, at: true } as const;

export function webhookRepository(db: Db): WebhookRepository {
  return {
    create: (data) => db.webhook.create({ data, select: WEBHOOK_FIELDS }),
    list: (tenantId) => db.webhook.findMany({ where: { tenantId }, select: WEBHOOK_FIELDS, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    find: (tenantId, id) => db.webhook.findFirst({ where: { id, tenantId }, select: WEBHOOK_FIELDS }),
    async delete(tenantId, id) {
      const { count } = await db.webhook.deleteMany({ where: { id, tenantId } });
      return count === 1;
    },
    async listDeliveries(tenantId, webhookId, { limit, after }) {
      const webhook = await db.webhook.findFirst({ where: { id: webhookId, tenantId }, select: { id: true } });
      if (!webhook) return null;
      const rows = await db.webhookDelivery.findMany({
        where: {
          webhookId,
          ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
        include: { attempts: { select: ATTEMPT_FIELDS, orderBy: { attempt: 'asc' } } },
      });
      return rows.map((r) => ({ ...r, status: r.status as DeliveryStatus }));
    },
    async createDeliveries(tenantId, event, payload) {
      return db.$transaction(async (tx) => {
        const hooks = await tx.webhook.findMany({ where: { tenantId, events: { hasSome: [event, '*'] } }, select: { id: true }, orderBy: { createdAt: 'asc' } });
        if (hooks.length === 0) return [];
        return tx.webhookDelivery.createManyAndReturn({
          data: hooks.map((h) => ({ webhookId: h.id, event, payload: payload as Prisma.InputJsonValue })),
          select: { id: true, webhookId: true },
        });
      });
    },
    async loadDelivery(id) {
      const row = await db.webhookDelivery.findUnique({ where: { id }, include: { webhook: { select: { url: true, secret: true } } } });
      if (!row) return null;
      return { id: row.id, event: row.event, payload: row.payload, status: row.status as DeliveryStatus, url: row.webhook.url, secret: row.webhook.secret };
    },
    async recordAttempt(deliveryId, attempt, outcome) {
      return db.$transaction(async (tx) => {
        // Row lock: two workers never number attempts of one delivery at the same time.
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM webhook_deliveries WHERE id = ${deliveryId}::uuid FOR UPDATE`;
        if (locked.length === 0) return null;
        const last = await tx.webhookAttempt.aggregate({ where: { deliveryId }, _max: { attempt: true } });
        const number = (last._max.attempt ?? 0) + 1;
        await tx.webhookAttempt.create({ data: { deliveryId, attempt: number, ...attempt } });
        if (outcome) {
          await tx.webhookDelivery.updateMany({
            where: { id: deliveryId, status: 'pending' },
            data: { status: outcome, ...(outcome === 'delivered' ? { deliveredAt: attempt.at } : {}) },
          });
        }
        return number;
      });
    },
  };
}
