// `qat run`: the main job without any server, as a user runs it, on real data (sklearn's wine CSV).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/core/qat/prepare.js'; // registers the QAT layer classes for loading
import * as tf from '../../src/core/tf.js';
import { RunReportSchema } from '../../src/export/report/index.js';
import { tempDir } from '../support/env.js';
import { runQat } from '../support/process.js';

const wine = 'tests/fixtures/sklearn/wine_data.csv';

describe('qat run', () => {
  it('trains, quantizes, verifies and writes report.json and a loadable QAT model with checksums', async () => {
    const out = tempDir('qat-run-');
    const { code, stdout, stderr } = await runQat(['run', '--data', wine, '--skip-rows', '1', '--epochs', '30', '--qat-epochs', '2', '--batch-size', '16', '--out', out], {});
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^accuracy on 36 test samples \(wine_data\.csv, zoo:mlp\):\n  float +\d+\.\d\d%\n  PTQ weights-only[\s\S]*QAT int8 \(integer reference\) +\d+\.\d\d%  \([+-]\d+\.\d\d vs float\)\n  model\.int8\.onnx \(ONNX Runtime\)[\s\S]*\n  weights: float [\d,]+ B, int8 [\d,]+ B/);
    expect(stderr).toMatch(/TRAINING_FLOAT[\s\S]*CALIBRATING[\s\S]*TRAINING_QAT[\s\S]*QUANTIZING[\s\S]*EVALUATING/);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    expect([...Value.Errors(RunReportSchema, report)]).toEqual([]);
    expect(report.task).toBe('classification');
    expect(report.dataset).toMatchObject({ name: 'wine_data.csv', format: 'csv', features: 13, classes: 3, test_source: 'split' });
    expect(report.dataset.sha256).toBe(createHash('sha256').update(await readFile(wine)).digest('hex'));
    expect(report.dataset.samples.train + report.dataset.samples.test).toBe(178);
    expect(report.config).toMatchObject({ epochs: 30, qat_epochs: 2, batch_size: 16, skip_rows: 1, weight_bits: 8, per_channel: true, observer: 'minmax' });
    expect(report.accuracy.float).toBeGreaterThan(0.85);
    expect(report.accuracy.int8_reference).toBe(report.accuracy.qat_int8);
    expect(report.accuracy.int8_reference).toBeGreaterThanOrEqual(report.accuracy.float - 0.06);
    expect(report.metrics.float.samples).toBe(report.dataset.samples.test);
    expect(report.agreement.int8_reference_vs_qat).toBeGreaterThanOrEqual(0.97);
    expect(report.size_bytes.int8 * 3.5).toBeLessThan(report.size_bytes.float);
    expect(report.layers.map((l: { name: string; class: string }) => `${l.name}:${l.class}`)).toEqual(['fc1:dense', 'fc2:dense', 'logits:dense']);
    expect(report.versions).toMatchObject({ 'qat-service': expect.any(String), node: process.version });
    // The deployable files, verified in ONNX Runtime inside the run.
    expect(report.artifacts.map((a: { name: string }) => a.name).sort()).toEqual(
      ['model-card.json', 'model.float.onnx', 'model.int8.onnx', 'qat-model/model.json', 'qat-model/weights.bin', 'tfjs-int8/group1-shard1of1.bin', 'tfjs-int8/model.json'].sort(),
    );
    expect(report.agreement.onnx_int8_vs_reference).toBe(1);
    expect(report.accuracy.onnx_int8).toBe(report.accuracy.int8_reference);
    expect(report.size_bytes.onnx_int8 * 2.5).toBeLessThan(report.size_bytes.onnx_float);
    expect(report.throughput.onnx_int8).toBeGreaterThan(0);
    const card = JSON.parse(await readFile(path.join(out, 'model-card.json'), 'utf8'));
    expect(JSON.stringify(card)).toContain(report.artifacts.find((a: { name: string }) => a.name === 'model.int8.onnx').sha256);
    const int8Json = JSON.parse(await readFile(path.join(out, 'tfjs-int8/model.json'), 'utf8'));
    const int8Weights = await readFile(path.join(out, 'tfjs-int8/group1-shard1of1.bin'));
    const int8 = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: int8Json.modelTopology, weightSpecs: int8Json.weightsManifest[0].weights, weightData: int8Weights.buffer.slice(int8Weights.byteOffset, int8Weights.byteOffset + int8Weights.byteLength) }),
    );
    expect((int8.predict(tf.zeros([2, 13])) as tf.Tensor).shape).toEqual([2, 3]);
    for (const a of report.artifacts as { name: string; size_bytes: number; sha256: string }[]) {
      const bytes = await readFile(path.join(out, a.name));
      expect(bytes.byteLength).toBe(a.size_bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
    }
    const modelJson = JSON.parse(await readFile(path.join(out, 'qat-model/model.json'), 'utf8'));
    const weights = await readFile(path.join(out, 'qat-model/weights.bin'));
    const model = await tfl.loadLayersModel(
      tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }),
    );
    expect((model.predict(tf.zeros([2, 13])) as tf.Tensor).shape).toEqual([2, 3]);
  }, 120_000);

  it('--shards 2: trains the shards in turn in this process and says so in the report', async () => {
    const out = tempDir('qat-run-shards-');
    const { code, stderr } = await runQat(['run', '--data', wine, '--skip-rows', '1', '--epochs', '4', '--qat-epochs', '1', '--batch-size', '16', '--shards', '2', '--sync-every', '4', '--out', out], {});
    expect(code, stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    expect([...Value.Errors(RunReportSchema, report)]).toEqual([]);
    expect(report.train.data_parallel).toEqual({ shards: 2, sync_every: 4, transport: 'in-process', costs: null });
    expect(report.train.float.epochs_run).toBe(4);
  });

  it('refuses an unknown format, and a conv model on tabular data, naming the option', async () => {
    const unknown = await runQat(['run', '--data', 'package.json', '--out', tempDir()], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/data: package\.json: unknown format '\.json'/);
    const conv = await runQat(['run', '--data', wine, '--skip-rows', '1', '--model', 'cnn', '--out', tempDir()], {});
    expect(conv.code).toBe(1);
    expect(conv.stderr).toMatch(/model: cnn needs image samples/);
    const bad = await runQat(['run', '--data', wine, '--epochs', 'many', '--weight-bits', '12', '--observer', 'max'], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--epochs: must be an integer, got 'many'; --weight-bits: must be <= 8, got 12; --observer: must be one of 'minmax', 'ema', 'percentile', 'mse', got 'max'/);
    const zoo = await runQat(['run', '--data', wine, '--model', 'zoo:resnet'], {});
    expect(zoo.stderr).toMatch(/model: unknown zoo model 'resnet' \(expected zoo:mlp, zoo:cnn, zoo:ds-cnn\)/);
  }, 60_000);

  it('a builtin dataset with an imported TF.js model: validation split, early stopping and provenance in the report (--json)', async () => {
    const out = tempDir('qat-run-');
    const model = 'tests/fixtures/models/iris-keras2/model.json';
    const { code, stdout, stderr } = await runQat(
      ['run', '--data', 'builtin:iris', '--model', model, '--standardize', '--qat-epochs', '3', '--validation-fraction', '0.25', '--patience', '1', '--batch-size', '16', '--json', '--out', out],
      {},
    );
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect([...Value.Errors(RunReportSchema, report)]).toEqual([]);
    expect(report).toEqual(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')));
    expect(report.model).toMatchObject({ name: 'model.json', source: 'tfjs-layers', input_shape: [4], output_shape: [3] });
    expect(report.config).toMatchObject({ epochs: 0, standardize: true, validation_fraction: 0.25, patience: 1 }); // trained weights: no float epochs by default
    expect(report.dataset).toMatchObject({ name: 'builtin:iris', format: 'builtin:iris', classes: 3, class_names: ['setosa', 'versicolor', 'virginica'], licence: expect.stringMatching(/BSD/) });
    expect(report.dataset.samples).toEqual({ train: 90, validation: 30, test: 30 });
    expect(report.preprocessing.standardize.mean).toHaveLength(4);
    expect(report.train.float.epochs_run).toBe(0);
    expect(report.train.qat.history[0]).toMatchObject({ epoch: 1, loss: expect.any(Number), val_loss: expect.any(Number), val_accuracy: expect.any(Number) });
    expect(report.accuracy.float).toBeGreaterThan(0.9); // the imported weights were trained on iris
    expect(report.accuracy.int8_reference).toBeGreaterThan(0.85);
    // The imported model's int8 ONNX runs in ONNX Runtime exactly as the integer reference.
    expect(report.agreement.onnx_int8_vs_reference).toBe(1);
    expect(report.agreement.max_abs_logit_diff).toBe(0);
    expect(report.accuracy.onnx_int8).toBe(report.accuracy.int8_reference);
  }, 60_000);
});

