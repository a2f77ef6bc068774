// `qat run`: the whole pipeline in-process, with no Redis or Postgres — load data, train the float
// model, compare weights-only and static PTQ with QAT, convert to int8 and evaluate it with the
// integer reference, then write report.json and the QAT model to the output folder.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '../../core/tf.js';
import { compareQuantization, type Phase } from '../../core/pipeline/compare.js';
import type { CalibratorKind } from '../../core/quant/observers/index.js';
import { buildModel } from '../../core/zoo/index.js';
import { selectBackend } from '../../engine/backend.js';
import { ValidationError } from '../../errors/index.js';
import { type DataOptions, loadDataset } from './loadDataset.js';

export interface RunOptions extends DataOptions {
  model: 'mlp' | 'cnn' | 'ds-cnn';
  width: number;
  epochs: number;
  qatEpochs: number;
  batchSize: number;
  lr: number;
  qatLr: number;
  weightBits: number;
  observer: CalibratorKind;
  calibrationSamples: number;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  out: string;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

async function writeArtifact(out: string, name: string, bytes: Uint8Array | string): Promise<{ name: string; size_bytes: number; sha256: string }> {
  const file = path.join(out, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { name, size_bytes: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength, sha256: sha256(bytes) };
}

export async function runQat(o: RunOptions, log: (line: string) => void): Promise<Record<string, unknown>> {
  const started = performance.now();
  const backend = await selectBackend(o.backend);
  log(`backend ${backend.backend}: ${backend.reason}`);
  const data = await loadDataset(o);
  log(`data ${o.data} (${data.format}): ${data.train.y.length} train, ${data.test.y.length} test samples, ${data.task}, ${data.classes} classes`);
  if (o.model !== 'mlp' && data.train.sampleShape.length !== 3) {
    throw new ValidationError([{ field: 'model', reason: `${o.model} needs image samples [height, width, channels]; this dataset's samples are [${data.train.sampleShape}] (use mlp)` }]);
  }
  const model = buildModel(o.model, { inputShape: data.train.sampleShape, classes: data.classes, width: o.width, seed: o.seed });
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const report = await compareQuantization(model, data.train, data.test, {
    task: data.task,
    floatEpochs: o.epochs,
    qatEpochs: o.qatEpochs,
    batchSize: o.batchSize,
    optimizer: { kind: 'adam' },
    lr: o.lr,
    qatLr: o.qatLr,
    seed: o.seed,
    qat: { weightBits: o.weightBits },
    calibration: { samples: o.calibrationSamples, observer: o.observer },
    onPhase: (p: Phase) => log(`[${elapsed()}] ${p}`),
    callbacks: {
      onEpochEnd: (e) => log(`[${elapsed()}]   epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}${e.accuracy !== undefined ? `, accuracy ${(e.accuracy * 100).toFixed(2)}%` : ''}`),
    },
  });

  await mkdir(o.out, { recursive: true });
  const artifacts: { name: string; size_bytes: number; sha256: string }[] = [];
  await report.qatModel.save(
    tf.io.withSaveHandler(async (a) => {
      const weights = new Uint8Array(a.weightData as ArrayBuffer);
      artifacts.push(await writeArtifact(o.out, 'qat-model/weights.bin', weights));
      const json = JSON.stringify({ modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] });
      artifacts.push(await writeArtifact(o.out, 'qat-model/model.json', json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const summary = {
    dataset: { path: o.data, format: data.format, task: data.task, classes: data.classes, train_samples: data.train.y.length, test_samples: data.test.y.length, test_source: data.testSource },
    preprocessing: data.standardization ? { standardize: data.standardization } : { scale: 'uint8 / 255' },
    model: { name: o.model, width: o.width },
    backend: backend.backend,
    config: { epochs: o.epochs, qat_epochs: o.qatEpochs, batch_size: o.batchSize, lr: o.lr, qat_lr: o.qatLr, weight_bits: o.weightBits, observer: o.observer, calibration_samples: o.calibrationSamples, seed: o.seed },
    accuracy: {
      float: report.float.metrics,
      ptq_dynamic: report.ptqDynamic.metrics,
      ptq_static: report.ptqStatic.metrics,
      ptq_static_int8_reference: report.ptqStatic.int8Reference,
      qat: report.qat.metrics,
      int8_reference: report.qat.int8Reference,
    },
    agreement: { int8_reference_vs_qat: report.qat.agreement, max_abs_output_diff: report.qat.maxAbsOutputDiff },
    throughput_samples_per_s: { float_training: report.float.samplesPerS ?? null, qat_training: report.qat.samplesPerS ?? null },
    size_bytes: { float32: report.bytes.float32, int8: report.bytes.total },
    macs_per_sample: report.macsPerSample,
    layers: report.layers.map((l) => ({ name: l.name, weight_bits: l.weightBits, weight_sqnr_db: l.weightSqnrDb, output_sqnr_db: l.outputSqnrDb, params: l.params, macs: l.macs })),
    artifacts,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  const reportJson = `${JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
  await writeArtifact(o.out, 'report.json', reportJson);
  report.qatModel.dispose();
  model.dispose();
  return summary;
}
