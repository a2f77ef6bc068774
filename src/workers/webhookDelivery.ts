// The webhook delivery worker: one BullMQ job per delivery (queue `qat-webhooks`). The processor makes
// one HTTP attempt through WebhookDeliveryService and maps its outcome onto BullMQ: a retryable failure
// throws (BullMQ retries it after its exponential backoff), a final one throws UnrecoverableError (no
// more retries), success and "nothing to send" complete the job.
import { type Processor, UnrecoverableError, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import { QUEUE_NAMES, type WebhookDeliveryPayload } from '../queue/names.js';
import { createWorker, type QueueContext } from '../queue/queues.js';
import type { DeliveryOutcome, WebhookDeliveryService } from '../services/webhooks.js';

export interface WebhookDeliveryResult {
  outcome: 'delivered' | 'skipped';
  attempt?: number;
  status_code?: number;
  reason?: string;
}

export function webhookDeliveryProcessor(deliveries: Pick<WebhookDeliveryService, 'deliver'>): Processor<WebhookDeliveryPayload, WebhookDeliveryResult> {
  return async (job) => {
    const maxAttempts = job.opts.attempts ?? 1;
    // attemptsMade counts the failed tries before this one.
    const final = job.attemptsMade + 1 >= maxAttempts;
    const outcome: DeliveryOutcome = await deliveries.deliver(job.data.deliveryId, { final });
    switch (outcome.kind) {
      case 'delivered':
        return { outcome: 'delivered', attempt: outcome.attempt, status_code: outcome.statusCode };
      case 'skipped':
        return { outcome: 'skipped', reason: outcome.reason };
      case 'retry':
        throw new Error(`attempt ${outcome.attempt} failed: ${outcome.reason}`);
      case 'failed':
        throw new UnrecoverableError(`attempt ${outcome.attempt} failed, delivery abandoned: ${outcome.reason}`);
    }
  };
}

export interface WebhookWorkerOptions {
  deliveries: Pick<WebhookDeliveryService, 'deliver'>;
  /** Deliveries sent at once by this process (I/O bound: several per core are fine). */
  concurrency: number;
}

export function createWebhookDeliveryWorker(options: WebhookWorkerOptions, ctx: QueueContext, logger?: Logger): Worker<WebhookDeliveryPayload, WebhookDeliveryResult> {
  const worker = createWorker(QUEUE_NAMES.webhooks, webhookDeliveryProcessor(options.deliveries), ctx, { concurrency: options.concurrency });
  worker.on('failed', (job, err) => logger?.info({ delivery_id: job?.data.deliveryId, attempts_made: job?.attemptsMade, err: err.message }, 'webhook attempt failed'));
  worker.on('error', (err) => logger?.warn({ err: err.message }, 'webhook worker error'));
  return worker;
}
