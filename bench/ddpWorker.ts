// A shard worker process for bench/ddp.ts: consumes qat-shards and qat-rounds under QUEUE_PREFIX with
// MNIST (TRAIN samples, seed 0) and the zoo MODEL, state files under DATA_DIR.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { pino } from 'pino';
import { prepareQat } from '../src/core/qat/prepare.js';
import { buildModel, type ModelName } from '../src/core/zoo/index.js';
import { selectBackend } from '../src/engine/backend.js';
import { createRedis } from '../src/queue/connection.js';
import { LocalDiskStore } from '../src/storage/localDiskStore.js';
import { startShardWorkers } from '../src/workers/shards/shardWorkers.js';
import { loadMnist } from '../tests/support/datasets.js';

export const benchData = (train: number) => loadMnist({ train, test: 2000, seed: 0 });
export const benchModel = (name: string): LayersModel => buildModel(name as ModelName, { inputShape: [28, 28, 1], classes: 10, seed: 0 });
export const QAT = { weightBits: 8, activationBits: 8, perChannel: true };

if (process.env.QUEUE_PREFIX) {
  await selectBackend('wasm');
  const data = benchData(Number(process.env.TRAIN));
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { role: 'worker' });
  const running = startShardWorkers(
    {
      store: new LocalDiskStore(process.env.DATA_DIR!),
      load: async () => {
        const float = benchModel(process.env.MODEL!);
        const qat = prepareQat(float, QAT).model;
        return { train: data.train, transformBatch: undefined, model: (phase) => (phase === 'TRAINING_FLOAT' ? float : qat), dispose: () => (qat.dispose(), float.dispose()) };
      },
      isLive: async () => true,
      logger: pino({ level: 'warn' }),
    },
    { connection: redis, prefix: process.env.QUEUE_PREFIX },
  );
  await Promise.all(running.workers.map((w) => w.waitUntilReady()));
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
}
