// Queue names and the payloads they carry. Payloads hold ids only: Postgres holds the truth and
// the model/dataset bytes live in the artifact store (DESIGN §1).

export const QUEUE_NAMES = {
  /** One job per QAT job attempt. */
  train: 'qat-train',
  /** One job per webhook delivery; BullMQ's attempts and backoff are the delivery's retries. */
  webhooks: 'qat-webhooks',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

export interface TrainJobPayload {
  jobId: string;
  attempt: number;
}

/** The delivery row's id (also the BullMQ job id and the `webhook-id` header). */
export interface WebhookDeliveryPayload {
  deliveryId: string;
}

export interface QueuePayloads {
  [QUEUE_NAMES.train]: TrainJobPayload;
  [QUEUE_NAMES.webhooks]: WebhookDeliveryPayload;
}
