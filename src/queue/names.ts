// Queue names and the payloads they carry. Payloads hold ids only: Postgres holds the truth and
// the model/dataset bytes live in the artifact store (DESIGN §1).

export const QUEUE_NAMES = {
  /** One job per QAT job attempt. */
  train: 'qat-train',
  /** One job per webhook delivery; BullMQ's attempts and backoff are the delivery's retries. */
  webhooks: 'qat-webhooks',
  /** Data-parallel: one job per shard and round (the children of a round's flow). */
  shards: 'qat-shards',
  /** Data-parallel: one job per round (the flow's parent), run once every shard is done: the merge. */
  rounds: 'qat-rounds',
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

/** A data-parallel round's parent and children carry ids, blob keys and small numbers only; states
 *  travel through the artifact store as binary files. The workers define the exact shape. */
export type RoundJobPayload = { jobId: string; attempt: number; round: number } & Record<string, unknown>;

export interface QueuePayloads {
  [QUEUE_NAMES.train]: TrainJobPayload;
  [QUEUE_NAMES.webhooks]: WebhookDeliveryPayload;
  [QUEUE_NAMES.shards]: RoundJobPayload;
  [QUEUE_NAMES.rounds]: RoundJobPayload;
}
