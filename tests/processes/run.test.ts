// `qat run`: the main job without any server, as a user runs it, on real data (sklearn's wine CSV).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import '../../src/core/qat/prepare.js'; // registers the QAT layer classes for loading
import * as tf from '../../src/core/tf.js';
import { tempDir } from '../support/env.js';
import { runQat } from '../support/process.js';

const wine = 'tests/fixtures/sklearn/wine_data.csv';

describe('qat run', () => {
  it('trains, quantizes, verifies and writes report.json and a loadable QAT model with checksums', async () => {
    const out = tempDir('qat-run-');
    const { code, stdout, stderr } = await runQat(['run', '--data', wine, '--skip-rows', '1', '--epochs', '30', '--qat-epochs', '2', '--batch-size', '16', '--out', out], {});
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^float \d+\.\d\d% \| PTQ weights-only .* \| int8 reference \d+\.\d\d%/);
    expect(stderr).toMatch(/TRAINING_FLOAT[\s\S]*CALIBRATING[\s\S]*TRAINING_QAT[\s\S]*QUANTIZING[\s\S]*EVALUATING/);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    expect(report.dataset).toMatchObject({ format: 'csv', task: 'classification', classes: 3, test_source: 'split' });
    expect(report.dataset.train_samples + report.dataset.test_samples).toBe(178);
    expect(report.accuracy.float.accuracy).toBeGreaterThan(0.85);
    expect(report.accuracy.int8_reference.accuracy).toBeGreaterThanOrEqual(report.accuracy.float.accuracy - 0.06);
    expect(report.agreement.int8_reference_vs_qat).toBeGreaterThanOrEqual(0.97);
    expect(report.size_bytes.int8 * 3.5).toBeLessThan(report.size_bytes.float32);
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

  it('refuses an unknown format, and a conv model on tabular data, naming the option', async () => {
    const unknown = await runQat(['run', '--data', 'package.json', '--out', tempDir()], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/data: package\.json: unknown format '\.json'/);
    const conv = await runQat(['run', '--data', wine, '--skip-rows', '1', '--model', 'cnn', '--out', tempDir()], {});
    expect(conv.code).toBe(1);
    expect(conv.stderr).toMatch(/model: cnn needs image samples/);
    const bad = await runQat(['run', '--data', wine, '--epochs', 'many'], {});
    expect(bad.stderr).toMatch(/epochs: must be an integer, got 'many'/);
  }, 60_000);
});
