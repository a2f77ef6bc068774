// `qat run`: the whole pipeline in-process, with no Redis or Postgres — load and check the data and the
// model, train float if asked, compare weights-only and static PTQ with QAT, convert to int8, evaluate it
// with the integer reference, and write report.json (the versioned contract) and the artifacts to --out.
import path from 'node:path';
import * as tf from '../../core/tf.js';
import { compareQuantization } from '../../core/pipeline/compare.js';
import { datasetLength } from '../../core/train/dataset.js';
import { buildModel, MODEL_NAMES, type ModelName } from '../../core/zoo/index.js';
import { selectBackend } from '../../engine/backend.js';
import { ValidationError } from '../../errors/index.js';
import { buildRunReport, type RunReport } from '../../export/report/index.js';
import type { RunConfig } from '../../services/runConfig.js';
import { VERSION } from '../runtime.js';
import { ArtifactWriter, pathSha256 } from './artifacts.js';
import { loadDataset } from './loadDataset.js';
import { createProgress } from './progress.js';

export interface RunInputs {
  data: string;
  testData?: string;
  /** `zoo:NAME` (or a bare zoo name). */
  model: string;
  out: string;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
}

export interface RunIo {
  log: (line: string) => void;
  /** Draw progress bars (stderr is a terminal). */
  tty: boolean;
}

function zooName(model: string): ModelName {
  const name = model.startsWith('zoo:') ? model.slice(4) : model;
  if (!(MODEL_NAMES as readonly string[]).includes(name)) {
    throw new ValidationError([{ field: 'model', reason: `unknown zoo model '${name}' (expected ${MODEL_NAMES.map((n) => `zoo:${n}`).join(', ')})` }]);
  }
  return name as ModelName;
}

export async function runQat(inputs: RunInputs, config: RunConfig, io: RunIo): Promise<RunReport> {
  const started = performance.now();
  const name = zooName(inputs.model); // before the data: a typo should not wait for a large load
  const backend = await selectBackend(inputs.backend);
  io.log(`backend ${backend.backend}: ${backend.reason}`);
  const data = await loadDataset({
    data: inputs.data,
    ...(inputs.testData ? { testData: inputs.testData } : {}),
    ...(config.label_column !== undefined ? { labelColumn: config.label_column } : {}),
    ...(config.skip_rows !== undefined ? { skipRows: config.skip_rows } : {}),
    ...(config.task ? { task: config.task } : {}),
    testFraction: config.test_fraction,
    seed: config.seed,
  });
  const trainSamples = datasetLength(data.train);
  io.log(`data ${inputs.data} (${data.format}): ${trainSamples} train, ${datasetLength(data.test)} test samples, ${data.task}, ${data.classes} classes`);

  if (name !== 'mlp' && data.train.sampleShape.length !== 3) {
    throw new ValidationError([{ field: 'model', reason: `${name} needs image samples [height, width, channels]; this dataset's samples are [${data.train.sampleShape}] (use zoo:mlp)` }]);
  }
  const model = buildModel(name, { inputShape: data.train.sampleShape, classes: data.classes, width: config.width, seed: config.seed });
  const progress = createProgress({
    tty: io.tty,
    log: io.log,
    stepsPerEpoch: Math.ceil(trainSamples / config.batch_size),
    batchSize: config.batch_size,
    epochs: { TRAINING_FLOAT: config.epochs, TRAINING_QAT: config.qat_epochs },
  });
  try {
    const quant = await compareQuantization(model, data.train, data.test, {
      task: data.task,
      floatEpochs: config.epochs,
      qatEpochs: config.qat_epochs,
      batchSize: config.batch_size,
      optimizer: { kind: 'adam' },
      lr: config.lr,
      qatLr: config.qat_lr,
      seed: config.seed,
      qat: { weightBits: config.weight_bits, activationBits: config.activation_bits, perChannel: config.per_channel },
      calibration: { samples: config.calibration_samples, observer: config.observer },
      onPhase: (p) => progress.phase(p),
      callbacks: progress.callbacks,
    });
    progress.done();
    try {
      const artifacts = new ArtifactWriter(inputs.out);
      await quant.qatModel.save(
        tf.io.withSaveHandler(async (a) => {
          await artifacts.write('qat-model/weights.bin', 'tfjs-qat-weights', new Uint8Array(a.weightData as ArrayBuffer));
          const json = JSON.stringify({ modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] });
          await artifacts.write('qat-model/model.json', 'tfjs-qat-model', json);
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      const sampleShape = data.train.sampleShape;
      const report = buildRunReport({
        quant,
        dataset: {
          name: path.basename(inputs.data),
          format: data.format,
          sha256: await pathSha256(inputs.data),
          samples: { train: trainSamples, validation: 0, test: datasetLength(data.test) },
          sample_shape: sampleShape,
          features: sampleShape.reduce((a, b) => a * b, 1),
          classes: data.classes,
          ...(data.classNames ? { class_names: data.classNames } : {}),
          test_source: data.testSource,
        },
        preprocessing: data.standardization ? { standardize: { mean: [...data.standardization.mean], std: [...data.standardization.std] } } : { scale: 'uint8 / 255' },
        model: {
          name: `zoo:${name}`,
          source: 'zoo',
          params: model.countParams(),
          input_shape: sampleShape,
          output_shape: (model.outputs[0]!.shape.slice(1) as number[]),
        },
        backend: backend.backend,
        config,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        artifacts: artifacts.written,
        versions: { 'qat-service': VERSION, node: process.version, 'tfjs-core': tf.version_core },
      });
      await new ArtifactWriter(inputs.out).write('report.json', 'report', `${JSON.stringify(report, null, 2)}\n`);
      return report;
    } finally {
      quant.qatModel.dispose();
    }
  } finally {
    progress.done(); // also stops a bar left open by an error
    model.dispose();
  }
}
