// Checkpointed resume of the comparison (sklearn digits, mlp, WASM): whatever checkpoint a run resumes
// from — mid float epoch, float phase done, mid QAT, QAT done, or the one a hand-over saved — it ends
// with bit-identical weights and the same metrics and histories as the undisturbed run.
import { beforeAll, describe, expect, it } from 'vitest';
import { type CheckpointInfo, type CompareCheckpoint, decodeCheckpoint, encodeCheckpoint, type ResumeResult } from '../../../src/core/pipeline/checkpoint.js';
import { CheckpointedStopError, type CompareOptions, compareQuantization, type QuantReport } from '../../../src/core/pipeline/compare.js';
import * as tf from '../../../src/core/tf.js';
import { buildModel } from '../../../src/core/zoo/index.js';
import { splitDataset } from '../../../src/data/split.js';
import { selectBackend } from '../../../src/engine/backend.js';
import { loadSklearn } from '../../support/datasets.js';
import { bitsEqual, head, weightsOf } from '../train/helpers.js';

const data = loadSklearn('digits', { testFraction: 0.25, seed: 0 });
const { train, test: validation } = splitDataset(head(data.train, 600), 'classification', { testFraction: 0.2, seed: 0 });
const options: CompareOptions = {
  task: 'classification',
  floatEpochs: 2,
  qatEpochs: 2,
  batchSize: 32,
  optimizer: { kind: 'adam' },
  lr: 1e-3,
  qatLr: 1e-4,
  seed: 0,
  calibration: { samples: 200, observer: 'minmax' },
  validation,
  earlyStopping: { patience: 5 },
};
const mlp = () => buildModel('mlp', { inputShape: [64], classes: data.classes, seed: 0 });

interface Saved {
  bytes: Uint8Array;
  info: CheckpointInfo;
}

/** One comparison with checkpoints kept in memory (through the byte codec, as workers store them). */
async function attempt(o: { resume?: Uint8Array; intervalMs?: number; handoverAfterSteps?: number; key?: string } = {}) {
  const saved: Saved[] = [];
  const resumes: ResumeResult[] = [];
  let steps = 0;
  const model = mlp();
  try {
    const report = await compareQuantization(model, train, data.test, {
      ...options,
      callbacks: { onStepEnd: () => void steps++ },
      checkpoint: {
        key: o.key ?? 'run',
        ...(o.resume ? { resume: decodeCheckpoint(o.resume) } : {}),
        onResume: (r) => resumes.push(r),
        save: async (c, info) => void saved.push({ bytes: encodeCheckpoint(c), info }),
        handoverRequested: () => o.handoverAfterSteps !== undefined && steps >= o.handoverAfterSteps,
        intervalMs: o.intervalMs ?? 60_000,
      },
    });
    return { report, saved, resumes, steps, weights: weightsOf(report.qatModel) };
  } catch (error) {
    return { error, saved, resumes, steps };
  } finally {
    model.dispose();
  }
}

async function run(o: Parameters<typeof attempt>[0] = {}) {
  const r = await attempt(o);
  if (!r.report) throw r.error;
  return r as typeof r & { report: QuantReport; weights: Record<string, Float32Array> };
}

function expectSameOutcome(a: QuantReport, b: QuantReport): void {
  expect(b.float.metrics).toEqual(a.float.metrics);
  expect(b.ptqStatic.int8Reference).toEqual(a.ptqStatic.int8Reference);
  expect(b.qat.metrics).toEqual(a.qat.metrics);
  expect(b.qat.int8Reference).toEqual(a.qat.int8Reference);
  expect(b.float.training.history).toEqual(a.float.training.history);
  expect(b.qat.training.history).toEqual(a.qat.training.history);
  expect(b.qat.training.bestEpoch).toBe(a.qat.training.bestEpoch);
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('comparison checkpoints', () => {
  let reference: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    // intervalMs 0: a checkpoint after every step too, so mid-epoch ones exist.
    reference = await run({ intervalMs: 0 });
    reference.report.qatModel.dispose();
  }, 120_000);

  it('are saved mid-epoch, at epoch ends and at phase ends, and never with an epoch left unclosed', () => {
    const infos = reference.saved.map((s) => s.info);
    const stepsPerEpoch = Math.ceil(train.y.length / options.batchSize);
    expect(infos.filter((i) => i.phase === 'TRAINING_FLOAT').length).toBeGreaterThan(stepsPerEpoch);
    expect(infos).toContainEqual({ phase: 'TRAINING_QAT', epoch: 0, step: 0 }); // float done
    expect(infos.at(-1)).toEqual({ phase: 'TRAINING_QAT', epoch: 2, step: 2 * stepsPerEpoch }); // QAT done
    for (const s of reference.saved) {
      const c = decodeCheckpoint(s.bytes);
      const p = c.phase === 'TRAINING_QAT' ? c.qat : c.float;
      if (p) expect(p.trainer.cursor.batchInEpoch).toBeLessThan(stepsPerEpoch);
    }
  });

  it.each([
    ['mid float epoch', (s: Saved[]) => s.find((x) => x.info.phase === 'TRAINING_FLOAT' && x.info.step === 3)!],
    ['float phase done', (s: Saved[]) => s.find((x) => x.info.phase === 'TRAINING_QAT' && x.info.step === 0)!],
    ['second QAT epoch', (s: Saved[]) => s.find((x) => x.info.phase === 'TRAINING_QAT' && x.info.epoch === 1)!],
    ['QAT done', (s: Saved[]) => s.at(-1)!],
  ])('resumed from %s, end with the same weights, metrics and histories', async (_name, pick) => {
    const from = pick(reference.saved);
    const before = tf.memory().numTensors;
    const resumed = await run({ resume: from.bytes });
    expect(resumed.resumes).toEqual([{ resumed: true, info: from.info }]);
    // A run resumed with QAT progress never saves over it a checkpoint without that progress.
    if (decodeCheckpoint(from.bytes).qat) expect(resumed.saved.map((x) => decodeCheckpoint(x.bytes).qat !== null)).not.toContain(false);
    expect(bitsEqual(resumed.weights, reference.weights)).toBe(true);
    expectSameOutcome(reference.report, resumed.report);
    // Only the epochs after the checkpoint were trained again.
    const stepsPerEpoch = Math.ceil(train.y.length / options.batchSize);
    const floatSteps = from.info.phase === 'TRAINING_FLOAT' ? options.floatEpochs * stepsPerEpoch - from.info.step : 0;
    const qatSteps = options.qatEpochs * stepsPerEpoch - (from.info.phase === 'TRAINING_QAT' ? from.info.step : 0);
    expect(resumed.steps).toBe(floatSteps + qatSteps);
    resumed.report.qatModel.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 60_000);

  it('stop after a checkpoint when a hand-over is asked, and the hand-over checkpoint resumes to the same result', async () => {
    const stepsPerEpoch = Math.ceil(train.y.length / options.batchSize);
    const at = options.floatEpochs * stepsPerEpoch + 4; // inside the first QAT epoch
    const before = tf.memory().numTensors;
    const stopped = await attempt({ handoverAfterSteps: at });
    expect(stopped.error).toBeInstanceOf(CheckpointedStopError);
    expect((stopped.error as Error).message).toMatch(/TRAINING_QAT/);
    expect(stopped.steps).toBe(at);
    expect(tf.memory().numTensors).toBe(before);
    const handed = stopped.saved.at(-1)!;
    expect(handed.info).toEqual({ phase: 'TRAINING_QAT', epoch: 0, step: 4 });
    const resumed = await run({ resume: handed.bytes });
    expect(bitsEqual(resumed.weights, reference.weights)).toBe(true);
    expectSameOutcome(reference.report, resumed.report);
    resumed.report.qatModel.dispose();
  }, 90_000);

  it('of another run, or that do not fit the model, are refused with the reason and training starts afresh', async () => {
    const other = await run({ resume: reference.saved.at(-1)!.bytes, key: 'another run' });
    expect(other.resumes).toEqual([{ resumed: false, reason: expect.stringMatching(/another run/) }]);
    expect(bitsEqual(other.weights, reference.weights)).toBe(true);
    other.report.qatModel.dispose();

    const c: CompareCheckpoint = decodeCheckpoint(reference.saved.find((x) => x.info.phase === 'TRAINING_FLOAT' && x.info.step === 3)!.bytes);
    const name = Object.keys(c.float!.trainer.weights)[0]!;
    c.float!.trainer.weights[name] = { ...c.float!.trainer.weights[name]!, shape: [1, 1], data: new Float32Array(1) };
    const broken = await run({ resume: encodeCheckpoint(c) });
    expect(broken.resumes).toEqual([{ resumed: false, reason: expect.stringMatching(/float checkpoint was refused.*shape/) }]);
    expect(bitsEqual(broken.weights, reference.weights)).toBe(true);
    broken.report.qatModel.dispose();
  }, 120_000);
});
