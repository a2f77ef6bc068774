// The loop on the WASM backend (the one training runs on when tfjs-node is absent): an mlp, which
// needs no project kernels, learns, and a resumed run is bit-identical there too.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { Trainer, type TrainerOptions } from '../../../src/core/train/trainer.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { loadSklearn } from '../../support/datasets.js';
import { bitsEqual, stateArrays, weightsOf } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('on WASM', () => {
  const d = loadSklearn('digits', { testFraction: 0.25, seed: 9 });
  const opts: TrainerOptions = { task: 'classification', batchSize: 64, seed: 9, optimizer: { kind: 'adam' }, lr: { lr: 3e-3, schedule: { kind: 'step', stepSize: 20, gamma: 0.5 } } };
  const mlp = () => buildModel('mlp', { inputShape: [64], classes: 10, width: 0.5, seed: 9 });

  it('trains an mlp to > 0.9 held-out accuracy and resumes bit-identically', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const straight = mlp();
    const ts = new Trainer(straight, d.train, opts);
    const r = await ts.fit({ epochs: 3, validation: d.test });
    expect(r.history[2]!.valAccuracy).toBeGreaterThan(0.9);

    const m1 = mlp();
    const t1 = new Trainer(m1, d.train, opts);
    await t1.fit({ epochs: 3, maxSteps: 30 });
    const saved = t1.exportState();
    const m2 = mlp();
    const t2 = new Trainer(m2, d.train, opts);
    t2.importState(saved);
    await t2.fit({ epochs: 3 });
    expect(bitsEqual(weightsOf(m2), weightsOf(straight))).toBe(true);
    expect(bitsEqual(stateArrays(t2.exportState()).slots, stateArrays(ts.exportState()).slots)).toBe(true);
    for (const t of [ts, t1, t2]) t.dispose();
    for (const m of [straight, m1, m2]) m.dispose();
  });
});
