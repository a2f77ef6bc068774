// verifyOnnx beyond the zoo round trips: the timing pass (its shape, not its speed — speed is measured in
// bench/export.ts) and a regression model, on scikit-learn's real CSVs with their held-out splits.
import { beforeAll, describe, expect, it } from 'vitest';
import { convert, type IntModel } from '../../src/core/convert/index.js';
import { runIntModel } from '../../src/core/intref/index.js';
import { setQatMode } from '../../src/core/qat/mode.js';
import { prepareQat } from '../../src/core/qat/prepare.js';
import type { Task } from '../../src/core/train/task.js';
import { Trainer } from '../../src/core/train/trainer.js';
import { buildModel } from '../../src/core/zoo/index.js';
import { selectBackend } from '../../src/engine/backend.js';
import { buildModelCard, exportOnnx, verifyOnnx } from '../../src/export/index.js';
import { loadSklearn, type SklearnData } from '../support/datasets.js';
import { accuracyOf } from './support/predict.js';

async function qatMlp(d: SklearnData, task: Task, epochs: number): Promise<IntModel> {
  const model = buildModel('mlp', { inputShape: d.train.sampleShape, classes: d.classes, seed: 0 });
  const prepared = prepareQat(model, {});
  model.dispose();
  const trainer = new Trainer(prepared.model, d.train, { task, batchSize: 32, optimizer: { kind: 'adam' }, lr: { lr: task === 'regression' ? 1e-2 : 2e-3 }, seed: 0 });
  await trainer.fit({ epochs });
  trainer.dispose();
  setQatMode(prepared.model, { observersFrozen: true, batchNormFrozen: true });
  const im = convert(prepared.model, { name: `mlp-${d.name}` });
  prepared.model.dispose();
  return im;
}

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('verifyOnnx', () => {
  it('measures batch-1 latency and batch throughput alongside accuracy (sklearn digits)', async () => {
    const d = loadSklearn('digits', { seed: 0 });
    const im = await qatMlp(d, 'classification', 8);
    const test = { ...d.test, y: d.test.y as Int32Array };
    const v = await verifyOnnx(exportOnnx(im, { variant: 'int8' }), test, { reference: im, timing: { latencyRuns: 5, throughputRuns: 3, throughputBatch: 64, warmup: 1 } });
    const refAccuracy = accuracyOf(runIntModel(im, test.x, test.y.length), test.y);
    expect(v.metrics.accuracy).toBeCloseTo(refAccuracy, 10);
    expect(v.metrics.accuracy!).toBeGreaterThan(0.85);
    expect(v.reference!.agreement).toBe(1);
    const t = v.timing!;
    expect(t.latencyMs.runs).toBe(5);
    expect(t.latencyMs.median).toBeGreaterThan(0);
    expect(t.latencyMs.p90).toBeGreaterThanOrEqual(t.latencyMs.median);
    expect(t.throughput.batch).toBe(64);
    expect(t.throughput.samplesPerS).toBeCloseTo((64 * 1000) / t.throughput.medianBatchMs, 6);
    expect(v.threads).toBe(1);
  }, 60_000);

  it('reports the mean absolute error of a regression model and its card says so (sklearn diabetes)', async () => {
    // Targets standardized with the train split's statistics: an int8 output grid observed from the
    // first batches (EMA) could not follow raw targets of 25–346 from an untrained start.
    const raw = loadSklearn('diabetes', { seed: 0 });
    const ys = Array.from(raw.train.y);
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const std = Math.sqrt(ys.reduce((a, b) => a + (b - mean) ** 2, 0) / ys.length);
    const standard = (y: Int32Array | Float32Array) => Float32Array.from(y, (v) => (v - mean) / std);
    const d: SklearnData = { ...raw, train: { ...raw.train, y: standard(raw.train.y) }, test: { ...raw.test, y: standard(raw.test.y) } };
    const im = await qatMlp(d, 'regression', 40);
    const bytes = exportOnnx(im, { variant: 'int8' });
    const v = await verifyOnnx(bytes, d.test, { reference: im, timing: false });
    const ref = runIntModel(im, d.test.x, d.test.y.length);
    const mae = ref.reduce((s, p, i) => s + Math.abs(p - d.test.y[i]!), 0) / ref.length;
    const mse = ref.reduce((s, p, i) => s + (p - d.test.y[i]!) ** 2, 0) / ref.length;
    expect(v.metrics.accuracy).toBeUndefined();
    expect(v.metrics.mae!).toBeCloseTo(mae, 4);
    expect(v.metrics.mse!).toBeCloseTo(mse, 4);
    console.log(`diabetes (standardized targets): ONNX int8 mae ${v.metrics.mae}, mse ${v.metrics.mse}`);
    // A model that learned something: predicting the mean scores ≈ 0.8 standard deviations.
    expect(v.metrics.mae!).toBeLessThan(0.7);
    expect(v.reference!.agreement).toBeNull();
    expect(v.timing).toBeNull();
    const card = buildModelCard({ model: im, task: 'regression', quantization: {}, preprocessing: { standardize: 'train split' }, metrics: { onnx_int8: v.metrics }, files: [{ name: 'model.int8.onnx', bytes, format: 'onnx-int8' }] });
    expect((card.interface as { outputs: { meaning: string }[] }).outputs[0]!.meaning).toBe('regression outputs');
  }, 60_000);
});
