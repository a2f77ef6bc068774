// The custom training loop on real data (CPU backend): it learns, it is deterministic, it resumes
// bit-for-bit from an exported state, it stops when asked, and its hooks act on the model.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EpochLog, StepLog } from '../../../src/core/train/callbacks.js';
import { evaluateDataset } from '../../../src/core/train/evaluate.js';
import { Trainer, type TrainerOptions } from '../../../src/core/train/trainer.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { loadMnist, loadSklearn } from '../../support/datasets.js';
import { bitsEqual, halfSize, stateArrays, weightsOf } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const digits = loadSklearn('digits', { testFraction: 0.25, seed: 1 });
const iris = loadSklearn('iris', { testFraction: 0.3, seed: 2 });
const adam = (lr = 1e-3): Pick<TrainerOptions, 'optimizer' | 'lr'> => ({ optimizer: { kind: 'adam' }, lr: { lr } });

describe('learning', () => {
  it('an mlp learns sklearn digits (held-out accuracy > 0.9)', async () => {
    const model = buildModel('mlp', { inputShape: [64], classes: 10, width: 0.25, seed: 1 });
    const trainer = new Trainer(model, digits.train, { task: 'classification', batchSize: 32, seed: 1, ...adam(3e-3) });
    const r = await trainer.fit({ epochs: 4, validation: digits.test });
    expect(r.stop).toBe('completed');
    expect(r.step).toBe(4 * Math.ceil(digits.train.y.length / 32));
    expect(r.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
    expect(r.history[3]!.loss).toBeLessThan(r.history[0]!.loss);
    expect(r.history[3]!.valAccuracy).toBeGreaterThan(0.9);
    const ev = evaluateDataset(model, digits.test, 'classification');
    expect(ev.accuracy).toBe(r.history[3]!.valAccuracy);
    trainer.dispose();
    model.dispose();
  });

  it('regression (sklearn diabetes, MSE loss) beats predicting the mean', async () => {
    const d = loadSklearn('diabetes', { testFraction: 0.25, seed: 3 });
    // scale the target by train statistics so one learning rate suits it
    const ys = Array.from(d.train.y);
    const mu = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sd = Math.sqrt(ys.reduce((a, b) => a + (b - mu) ** 2, 0) / ys.length);
    const scale = (y: Int32Array | Float32Array) => Float32Array.from(y, (v) => (v - mu) / sd);
    const train = { ...d.train, y: scale(d.train.y) };
    const test = { ...d.test, y: scale(d.test.y) };
    const model = buildModel('mlp', { inputShape: [10], classes: 1, width: 0.125, seed: 2 });
    const trainer = new Trainer(model, train, {
      task: 'regression',
      batchSize: 32,
      seed: 2,
      optimizer: { kind: 'sgd', momentum: 0.9 },
      lr: { lr: 0.01, warmupSteps: 10, schedule: { kind: 'cosine', totalSteps: 300 } },
    });
    const logs: StepLog[] = [];
    const r = await trainer.fit({ epochs: 30, validation: test, callbacks: { onStepEnd: (l) => void logs.push(l) } });
    const baseline = Array.from(test.y).reduce((a, b) => a + b * b, 0) / test.y.length; // MSE of predicting the train mean (0)
    const last = r.history[r.history.length - 1]!;
    expect(last.valLoss).toBeLessThan(0.75 * baseline);
    expect(last.valMae).toBeGreaterThan(0);
    expect(logs[0]!.mae).toBeGreaterThan(0);
    expect(logs[0]!.accuracy).toBeUndefined();
    expect(logs[0]!.lr).toBeCloseTo(0.001, 12); // warmup step 1 of 10
    trainer.dispose();
    model.dispose();
  });
});

describe('determinism and resumption', () => {
  // MNIST digits at 14×14 keep the conv model's CPU-backend steps short
  const train = halfSize(loadMnist({ train: 72, test: 0, seed: 5 }).train);
  const opts: TrainerOptions = {
    task: 'classification',
    batchSize: 16, // 5 batches per epoch, the last one smaller
    seed: 11,
    optimizer: { kind: 'adam' },
    lr: { lr: 2e-3, warmupSteps: 3, schedule: { kind: 'cosine', totalSteps: 12 } },
  };
  const cnn = (seed = 3) => buildModel('cnn', { inputShape: [14, 14, 1], classes: 10, width: 0.25, seed });

  async function uninterrupted(epochs: number) {
    const model = cnn();
    const trainer = new Trainer(model, train, opts);
    const r = await trainer.fit({ epochs });
    const state = trainer.exportState();
    trainer.dispose();
    model.dispose();
    return { r, state };
  }

  it('the same seed gives bit-identical weights; another shuffle seed does not', async () => {
    const a = await uninterrupted(2);
    const b = await uninterrupted(2);
    expect(a.r.step).toBe(10);
    expect(bitsEqual(stateArrays(a.state).weights, stateArrays(b.state).weights)).toBe(true);
    expect(bitsEqual(stateArrays(a.state).slots, stateArrays(b.state).slots)).toBe(true);
    const model = cnn();
    const other = new Trainer(model, train, { ...opts, seed: 12 });
    await other.fit({ epochs: 2 });
    expect(bitsEqual(weightsOf(model), stateArrays(a.state).weights)).toBe(false);
    other.dispose();
    model.dispose();
  });

  it('resuming from a state exported mid-epoch is bit-identical to training straight through', async () => {
    const full = await uninterrupted(3);
    // first leg: 7 steps = one epoch and 2 batches of the second, then export
    const m1 = cnn();
    const t1 = new Trainer(m1, train, opts);
    const leg1 = await t1.fit({ epochs: 3, maxSteps: 7 });
    expect(leg1.stop).toBe('max-steps');
    expect(leg1.epoch).toBe(1);
    const saved = structuredClone(t1.exportState());
    expect(saved.cursor.batchInEpoch).toBe(2);
    expect(Object.keys(saved.weights)).toContain('bn1/moving_mean');
    expect(Object.keys(saved.optimizer.slots)).toContain('conv1/kernel/m');
    t1.dispose();
    m1.dispose();
    // second leg: a differently initialised model takes the state and finishes the run
    const m2 = cnn(99);
    const t2 = new Trainer(m2, train, opts);
    t2.importState(saved);
    const starts: Array<[number, boolean]> = [];
    const leg2 = await t2.fit({ epochs: 3, callbacks: { onEpochStart: (e, i) => void starts.push([e, i.resumed]) } });
    expect(starts).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(leg2.step).toBe(full.r.step);
    const resumed = t2.exportState();
    expect(bitsEqual(stateArrays(resumed).weights, stateArrays(full.state).weights)).toBe(true);
    expect(bitsEqual(stateArrays(resumed).slots, stateArrays(full.state).slots)).toBe(true);
    // the epoch that was split reports the same means as the uninterrupted one
    expect(leg2.history.map((h) => h.loss)).toEqual(full.r.history.slice(1).map((h) => h.loss));
    expect(leg2.history.map((h) => h.accuracy)).toEqual(full.r.history.slice(1).map((h) => h.accuracy));
    t2.dispose();
    m2.dispose();
  });

  it('refuses a state that does not fit the model or optimizer', async () => {
    const model = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.125 });
    const trainer = new Trainer(model, iris.train, { task: 'classification', batchSize: 16, ...adam() });
    const state = trainer.exportState();
    const other = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.25 });
    const t2 = new Trainer(other, iris.train, { task: 'classification', batchSize: 16, ...adam() });
    expect(() => t2.importState(state)).toThrow(/shape/);
    const sgd = new Trainer(model, iris.train, { task: 'classification', batchSize: 16, optimizer: { kind: 'sgd' }, lr: { lr: 0.1 } });
    expect(() => sgd.importState(state)).toThrow(/adam/);
    const missing = structuredClone(state);
    delete missing.weights['fc1/bias'];
    expect(() => trainer.importState(missing)).toThrow(/fc1\/bias/);
    for (const x of [trainer, t2, sgd]) x.dispose();
    model.dispose();
    other.dispose();
  });
});

describe('hooks and cancellation', () => {
  const base: TrainerOptions = { task: 'classification', batchSize: 16, seed: 4, ...adam(1e-2) };

  it('calls onEpochStart / onStepEnd / onEpochEnd in order with the logs', async () => {
    const model = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.125, seed: 4 });
    const trainer = new Trainer(model, iris.train, base);
    const events: string[] = [];
    const ends: EpochLog[] = [];
    await trainer.fit({
      epochs: 2,
      validation: iris.test,
      callbacks: {
        onEpochStart: (e) => void events.push(`start ${e}`),
        onStepEnd: (l) => {
          events.push(`step ${l.epoch}:${l.step}`);
          expect(l.accuracy).toBeGreaterThanOrEqual(0);
          expect(l.accuracy).toBeLessThanOrEqual(1);
          expect(Number.isFinite(l.loss)).toBe(true);
        },
        onEpochEnd: async (l) => {
          await new Promise((r) => setTimeout(r, 1)); // async hooks are awaited
          events.push(`end ${l.epoch}`);
          ends.push(l);
        },
      },
    });
    const spe = Math.ceil(iris.train.y.length / 16); // 105 samples → 7 steps
    expect(events).toEqual([
      'start 0',
      ...Array.from({ length: spe }, (_, i) => `step 0:${i + 1}`),
      'end 0',
      'start 1',
      ...Array.from({ length: spe }, (_, i) => `step 1:${spe + i + 1}`),
      'end 1',
    ]);
    expect(ends[1]!.samples).toBe(iris.train.y.length);
    expect(ends[1]!.valAccuracy).toBeGreaterThan(0.5);
    expect(ends[1]!.valLoss).toBeGreaterThan(0);
    trainer.dispose();
    model.dispose();
  });

  it('a layer frozen in onEpochStart stops changing while the rest trains on', async () => {
    const model = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.125, seed: 4 });
    const trainer = new Trainer(model, iris.train, base);
    let atFreeze: Record<string, Float32Array> = {};
    await trainer.fit({
      epochs: 3,
      callbacks: {
        onEpochStart: (e) => {
          if (e >= 1) model.getLayer('fc1').trainable = false;
          if (e === 1) atFreeze = weightsOf(model);
        },
      },
    });
    const after = weightsOf(model);
    expect(after['fc1/kernel']).toEqual(atFreeze['fc1/kernel']);
    expect(after['fc2/kernel']).not.toEqual(atFreeze['fc2/kernel']);
    trainer.dispose();
    model.dispose();
  });

  it('stops between steps when the signal aborts, and continuing gives the uninterrupted result', async () => {
    const straight = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.125, seed: 4 });
    const ts = new Trainer(straight, iris.train, base);
    await ts.fit({ epochs: 2 });

    const model = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.125, seed: 4 });
    const trainer = new Trainer(model, iris.train, base);
    const ac = new AbortController();
    const r = await trainer.fit({ epochs: 2, signal: ac.signal, callbacks: { onStepEnd: (l) => void (l.step === 3 && ac.abort()) } });
    expect(r.stop).toBe('aborted');
    expect(r.step).toBe(3);
    // an already-aborted signal does no step at all
    expect((await trainer.fit({ epochs: 2, signal: ac.signal })).step).toBe(3);
    const rest = await trainer.fit({ epochs: 2 });
    expect(rest.stop).toBe('completed');
    expect(bitsEqual(weightsOf(model), weightsOf(straight))).toBe(true);
    for (const t of [ts, trainer]) t.dispose();
    model.dispose();
    straight.dispose();
  });

  it('an abort from a timer lands between steps (the loop yields to the event loop)', async () => {
    const model = buildModel('mlp', { inputShape: [64], classes: 10, width: 0.25, seed: 1 });
    const trainer = new Trainer(model, digits.train, { ...base, batchSize: 8 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const r = await trainer.fit({ epochs: 50, signal: ac.signal });
    expect(r.stop).toBe('aborted');
    expect(r.step).toBeGreaterThan(0);
    expect(r.step).toBeLessThan(50 * Math.ceil(digits.train.y.length / 8));
    trainer.dispose();
    model.dispose();
  });

  it('leaks no tensors across steps and epochs', async () => {
    const model = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.125, seed: 4 });
    const trainer = new Trainer(model, iris.train, base);
    await trainer.fit({ epochs: 1, validation: iris.test }); // creates the optimizer slots
    const before = tf.memory().numTensors;
    await trainer.fit({ epochs: 4, validation: iris.test });
    trainer.exportState();
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before - 2 * model.trainableWeights.length);
    model.dispose();
  });
});

/** A layer with its own non-trainable state updated inside call() when training (like a QAT observer). */
class MaxObserver extends tfl.layers.Layer {
  static readonly className = 'MaxObserver';
  private max!: tfl.LayerVariable;
  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    this.max = this.addWeight('max', [], 'float32', tfl.initializers.zeros(), undefined, false);
    super.build(inputShape);
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] === true) {
      tf.tidy(() => {
        this.max.write(tf.maximum(this.max.read(), tf.max(tf.abs(x))));
      });
    }
    return tf.clone(x);
  }
}

describe('models with stateful custom layers', () => {
  it('updates layer state only in training, exports it, and resumes bit-identically', async () => {
    const make = () => {
      const input = tfl.input({ shape: [4] });
      let x = tfl.layers.dense({ units: 8, activation: 'relu', name: 'fc', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
      x = new MaxObserver({ name: 'obs' }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers.dense({ units: 3, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: x });
    };
    const opts: TrainerOptions = { task: 'classification', batchSize: 16, seed: 6, optimizer: { kind: 'sgd', momentum: 0.9 }, lr: { lr: 0.05 } };
    const straight = make();
    const ts = new Trainer(straight, iris.train, opts);
    await ts.fit({ epochs: 2 });
    const obs = () => straight.getLayer('obs').getWeights()[0]!.dataSync()[0]!;
    const seen = obs();
    expect(seen).toBeGreaterThan(0);
    evaluateDataset(straight, iris.test, 'classification');
    expect(obs()).toBe(seen); // inference leaves it alone

    const m1 = make();
    const t1 = new Trainer(m1, iris.train, opts);
    await t1.fit({ epochs: 2, maxSteps: 5 });
    const saved = t1.exportState();
    expect(saved.weights['obs/max']!.shape).toEqual([]);
    const m2 = make();
    const t2 = new Trainer(m2, iris.train, opts);
    t2.importState(saved);
    await t2.fit({ epochs: 2 });
    expect(bitsEqual(weightsOf(m2), weightsOf(straight))).toBe(true);
    for (const t of [ts, t1, t2]) t.dispose();
  });
});

describe('input checks', () => {
  it('fails fast on labels, targets and options that do not fit', () => {
    const model = buildModel('mlp', { inputShape: [4], classes: 2, width: 0.125 });
    const o: TrainerOptions = { task: 'classification', batchSize: 8, ...adam() };
    expect(() => new Trainer(model, iris.train, o)).toThrow(/label 2 needs at least 3 logits/);
    const two = { ...iris.train, y: Int32Array.from(iris.train.y, (v) => Math.min(v, 1)) };
    expect(() => new Trainer(model, two, { ...o, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new Trainer(model, two, { ...o, lr: { lr: -1 } })).toThrow(/learning rate/);
    expect(() => new Trainer(model, { ...two, y: Float32Array.from(two.y) }, o)).toThrow(/Int32Array/);
    expect(() => new Trainer(model, { ...two, x: two.x.subarray(1) }, o)).toThrow(/multiple/);
    expect(() => new Trainer(model, { ...two, y: Float32Array.from(two.y) }, { ...o, task: 'regression' })).toThrow(/targets per sample/);
    new Trainer(model, two, o).dispose();
    model.dispose();
  });
});
