// The training process of one job attempt: forked by a worker (src/workers/training/trainJob.ts) with an
// IPC channel, never run by hand. A composition root: it gets the worker's configuration over IPC (it
// reads no environment), builds its own Prisma client, blob store and TF.js backend, runs the attempt
// (src/workers/training/attempt.ts), reports how it ended, and exits.
//
// It stops at once when the worker goes away (the IPC channel closes), so a killed worker's job falls
// silent and the reaper takes it back. SIGTERM/SIGINT (e.g. Ctrl-C reaching the whole process group)
// ask for a hand-over, as the worker does when it stops.
//
// Only the protocol is imported up front: the IPC listeners must be in place before the first message
// arrives (node emits messages as they come), and the rest (TF.js, Prisma, the pipeline) loads meanwhile.
import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import type { BackendPreference } from '../engine/backend.js';
import type { RoundFlows } from '../queue/roundFlows.js';
import { type AttemptResult, type ChildMessage, isParentMessage, type StartMessage } from '../workers/training/protocol.js';

/** Exit code when the worker went away mid-attempt (EX_TEMPFAIL). */
const WORKER_GONE = 75;

if (!process.send) {
  process.stderr.write('trainChild: this is the training process of a qat worker; it runs only when forked by one\n');
  process.exit(2);
}

const send = (message: ChildMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

const cancel = new AbortController();
let handover = false;
let started = false;
let finishing = false;

/** Reports the result (once) and exits when it has been handed to the worker. */
async function finish(result: AttemptResult, code: number): Promise<never> {
  if (!finishing) {
    finishing = true;
    await send({ type: 'result', result });
  }
  process.exit(code);
}

process.on('disconnect', () => {
  if (!finishing) process.exit(WORKER_GONE);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => (handover = true));
/** A bug or a broken dependency outside the attempt's own error handling: reported as a retryable failure. */
const crash = (err: unknown): void => {
  process.stderr.write(`trainChild ${process.pid}: ${(err as Error)?.stack ?? String(err)}\n`);
  void finish({ outcome: 'failed', code: 'INTERNAL', message: `internal error: ${(err as Error)?.message ?? String(err)}`, unrecoverable: false }, 1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

process.on('message', (m: unknown) => {
  if (!isParentMessage(m)) return;
  if (m.type === 'cancel') cancel.abort();
  else if (m.type === 'handover') handover = true;
  else if (!started) {
    started = true;
    void run(m);
  }
});

const modules = Promise.all([
  import('pino'),
  import('../db/client.js'),
  import('../db/datasetRepository.js'),
  import('../db/jobRepository.js'),
  import('../db/modelRepository.js'),
  import('../engine/backend.js'),
  import('../services/jobRuns.js'),
  import('../storage/localDiskStore.js'),
  import('../workers/training/attempt.js'),
]);

async function run(start: StartMessage): Promise<void> {
  const [{ pino }, { createDb }, { datasetRepository }, { jobRepository }, { modelRepository }, { selectBackend }, { JobRunService }, { LocalDiskStore }, { runAttempt }] = await modules;
  const config = start.config as Config;
  const { jobId, attempt, workerId } = start.ref;
  const logger = pino({ level: config.logLevel, base: { pid: process.pid, hostname: hostname() } }).child({ job_id: jobId, attempt, worker_id: workerId, role: 'training' });
  const db = createDb(config.databaseUrl, { poolSize: 3 });
  let result: AttemptResult;
  // Data-parallel jobs only: the round queue, opened on first use.
  let flows: RoundFlows | undefined;
  let closeFlows: () => Promise<void> = async () => undefined;
  try {
    const backend = await selectBackend(start.backend as BackendPreference);
    logger.debug({ backend: backend.backend }, 'training process ready');
    const store = new LocalDiskStore(config.dataDir);
    const runs = new JobRunService({
      jobs: jobRepository(db),
      datasets: datasetRepository(db),
      models: modelRepository(db),
      // Webhook events go through the worker, which holds the Redis connection.
      notifier: { emit: (tenantId, event, payload) => send({ type: 'notify', tenantId, event, payload }) },
      store,
    });
    result = await runAttempt(
      {
        runs,
        store,
        ref: start.ref,
        backend: backend.backend,
        versions: start.versions,
        maxModelParams: config.maxModelParams,
        logger,
        checkpointIntervalMs: config.jobCheckpointIntervalMs,
        rounds: async () => {
          const [{ createRedis }, { roundFlows }] = await Promise.all([import('../queue/connection.js'), import('../queue/roundFlows.js')]);
          const redis = createRedis(config.redisUrl, { role: 'worker', onError: (err) => logger.warn({ err: err.message }, 'redis connection error') });
          flows = await roundFlows({ connection: redis, prefix: config.queuePrefix });
          closeFlows = async () => {
            await flows?.close();
            redis.disconnect();
          };
          return flows;
        },
      },
      {
        signal: cancel.signal,
        handoverRequested: () => handover,
        progress: (progress) => void send({ type: 'progress', progress }),
        checkpointSaved: (info) => void send({ type: 'checkpoint', info }),
      },
    );
  } catch (err) {
    result = { outcome: 'failed', code: 'INTERNAL', message: `internal error: ${(err as Error).message}`, unrecoverable: false };
  }
  await closeFlows().catch(() => undefined);
  await db.$disconnect().catch(() => undefined);
  await finish(result, 0);
}
