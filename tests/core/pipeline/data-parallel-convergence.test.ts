// Convergence of data-parallel QAT: the zoo cnn on real MNIST digits trained in 2 shards at the default
// sync_every (rounds run in this process: the same arithmetic as over BullMQ, which
// tests/workers/shards.test.ts proves bit for bit) reaches the int8 accuracy of one process within 0.3
// points on the 2,000 test digits no step trained on.
import { beforeAll, describe, expect, it } from 'vitest';
import { type CompareOptions, compareQuantization } from '../../../src/core/pipeline/compare.js';
import { localDataParallel } from '../../../src/core/pipeline/localDataParallel.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { selectBackend } from '../../../src/engine/backend.js';
import { resolveRunConfig } from '../../../src/services/runConfig.js';
import { loadMnist } from '../../support/datasets.js';

const mnist = loadMnist({ train: 8000, test: 2000, seed: 0 });
const defaults = resolveRunConfig({});
const options: CompareOptions = {
  task: 'classification',
  floatEpochs: 3,
  qatEpochs: 2,
  batchSize: defaults.batch_size,
  optimizer: { kind: 'adam' },
  lr: defaults.lr,
  qatLr: defaults.qat_lr,
  seed: 0,
  calibration: { samples: 1000, observer: 'minmax' },
};

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('data-parallel convergence', () => {
  it(`cnn on MNIST: 2 shards at sync_every ${defaults.sync_every} reach one process's int8 accuracy within 0.3 points`, async () => {
    const run = async (o: CompareOptions) => {
      const model = buildModel('cnn', { inputShape: [28, 28, 1], classes: 10, seed: 0 });
      const r = await compareQuantization(model, mnist.train, mnist.test, o);
      r.qatModel.dispose();
      model.dispose();
      return r.qat.int8Reference.accuracy!;
    };
    const single = await run(options);
    const sharded = await run({ ...options, dataParallel: localDataParallel({ shards: 2, syncEvery: defaults.sync_every, merge: { activationObserver: 'ema' } }) });
    expect(single).toBeGreaterThan(0.95);
    // In test digits: at most 6 of 2,000 (0.3 points; the tolerance absorbs float rounding of the ratio).
    expect(Math.round(Math.abs(sharded - single) * mnist.test.y.length)).toBeLessThanOrEqual(6);
  }, 600_000);
});
