// A shard worker process for bench/ddp.ts: consumes qat-shards and qat-rounds under QUEUE_PREFIX with
// MNIST (TRAIN samples, seed 0) and the zoo MODEL, state files under DATA_DIR. With PLAIN_BATCH instead,
// one independent trainer (no rounds): it warms up, says 'ready', trains STEPS steps once told 'go' on
// stdin and prints its samples/s — N of them at once show what this machine gives N processes at all.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { pino } from 'pino';
import { prepareQat } from '../src/core/qat/prepare.js';
import { Trainer } from '../src/core/train/trainer.js';
import { buildModel, type ModelName } from '../src/core/zoo/index.js';
import { selectBackend } from '../src/engine/backend.js';
import { createRedis } from '../src/queue/connection.js';
import { LocalDiskStore } from '../src/storage/localDiskStore.js';
import { startShardWorkers } from '../src/workers/shards/shardWorkers.js';
import { loadMnist } from '../tests/support/datasets.js';

export const benchData = (train: number) => loadMnist({ train, test: 2000, seed: 0 });
export const benchModel = (name: string): LayersModel => buildModel(name as ModelName, { inputShape: [28, 28, 1], classes: 10, seed: 0 });
export const QAT = { weightBits: 8, activationBits: 8, perChannel: true };

/** QAT training of the zoo `model` by one plain Trainer: samples/s over `steps` steps after a warm-up. */
export async function timePlainTraining(model: string, data: ReturnType<typeof benchData>['train'], batchSize: number, steps: number, beforeTiming?: () => Promise<void>): Promise<number> {
  const m = prepareQat(benchModel(model), QAT).model;
  const t = new Trainer(m, data, { task: 'classification', batchSize, optimizer: { kind: 'adam' }, lr: { lr: 1e-4 }, seed: 0 });
  await t.fit({ epochs: 1, maxSteps: 4 });
  await beforeTiming?.();
  const started = performance.now();
  await t.fit({ epochs: 100, maxSteps: steps });
  const seconds = (performance.now() - started) / 1000;
  t.dispose();
  m.dispose();
  return (steps * batchSize) / seconds;
}

const told = (word: string) => new Promise<void>((resolve) => process.stdin.on('data', (c: Buffer) => c.toString().includes(word) && resolve()));

if (process.env.PLAIN_BATCH) {
  await selectBackend('wasm');
  const data = benchData(Number(process.env.TRAIN));
  const samplesPerS = await timePlainTraining(process.env.MODEL!, data.train, Number(process.env.PLAIN_BATCH), Number(process.env.STEPS), async () => {
    process.stdout.write('ready\n');
    await told('go');
  });
  process.stdout.write(`${JSON.stringify({ samplesPerS })}\n`);
  process.exit(0);
}

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
