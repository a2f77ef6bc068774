// `qat run`: the pipeline of a job, in-process, on local files — no Redis or Postgres. This file only
// resolves the inputs (data and model from disk or the zoo) and writes outputs to --out; the pipeline
// itself (src/workers/pipeline) is the same one a worker runs.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as tf from '../../core/tf.js';
import { datasetLength } from '../../core/train/dataset.js';
import { buildModel, MODEL_NAMES, type ModelName, ZooShapeError } from '../../core/zoo/index.js';
import { checkCompatibility } from '../../data/model/index.js';
import { selectBackend } from '../../engine/backend.js';
import { ValidationError } from '../../errors/index.js';
import type { RunReport } from '../../export/report/index.js';
import type { RunConfig } from '../../services/runConfig.js';
import { runPipeline } from '../../workers/pipeline/runPipeline.js';
import type { PipelineModel } from '../../workers/pipeline/types.js';
import { VERSION } from '../runtime.js';
import { ORT_VERSION } from '../../export/verify/session.js';
import { ArtifactWriter, pathSha256, sha256 } from './artifacts.js';
import { loadDataset, type LoadedData } from './loadDataset.js';
import { loadModelFile } from './loadModel.js';
import { createProgress } from './progress.js';

export interface RunInputs {
  data: string;
  testData?: string;
  /** `zoo:NAME` (or a bare zoo name), or a TF.js model.json / Keras JSON file. */
  model: string;
  out: string;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  /** Refuse imported models with more parameters (checked before anything is allocated). */
  maxParams: number;
  /** For a Keras JSON architecture: a TF.js weights manifest whose weight files lie next to it. */
  weightsManifest?: string;
}

export interface RunIo {
  log: (line: string) => void;
  /** Draw progress bars (stderr is a terminal). */
  tty: boolean;
}

function zooName(model: string): ModelName | null {
  const name = model.startsWith('zoo:') ? model.slice(4) : model;
  if ((MODEL_NAMES as readonly string[]).includes(name)) return name as ModelName;
  if (model.startsWith('zoo:')) throw new ValidationError([{ field: 'model', reason: `unknown zoo model '${name}' (expected ${MODEL_NAMES.map((n) => `zoo:${n}`).join(', ')})` }]);
  return null;
}

async function resolveModel(spec: string, data: LoadedData, config: RunConfig, inputs: RunInputs): Promise<PipelineModel> {
  const zoo = zooName(spec);
  if (zoo) {
    if (zoo !== 'mlp' && data.train.sampleShape.length !== 3) {
      throw new ValidationError([{ field: 'model', reason: `${zoo} needs image samples [height, width, channels]; this dataset's samples are [${data.train.sampleShape}] (use zoo:mlp)` }]);
    }
    let model: LayersModel;
    try {
      model = buildModel(zoo, { inputShape: data.train.sampleShape, classes: data.classes, width: config.width, seed: config.seed });
    } catch (err) {
      if (err instanceof ZooShapeError) throw new ValidationError([{ field: 'model', reason: err.message }]);
      throw err;
    }
    return { model, name: `zoo:${zoo}`, source: 'zoo', hasWeights: false };
  }
  const imported = await loadModelFile(spec, { maxParams: inputs.maxParams }, inputs.weightsManifest ? { weightsManifest: inputs.weightsManifest } : {});
  try {
    checkCompatibility(imported.info, { sampleShape: data.train.sampleShape, task: data.task, classes: data.classes });
  } catch (err) {
    imported.model.dispose();
    throw err;
  }
  return { model: imported.model, name: path.basename(spec), source: imported.info.format, hasWeights: imported.info.hasWeights };
}

/** sha256 of --data, or with --test-data of both (`train <sha>\ntest <sha>`); the same file twice is refused. */
async function dataSha256(inputs: RunInputs): Promise<string> {
  const train = await pathSha256(inputs.data);
  if (!inputs.testData) return train;
  const test = await pathSha256(inputs.testData);
  if (test === train) throw new ValidationError([{ field: 'testData', reason: `is the same data as --data (sha256 ${train.slice(0, 12)}…): a test set must not be the training set` }]);
  return sha256(`train ${train}\ntest ${test}`);
}

export async function runQat(inputs: RunInputs, config: RunConfig, io: RunIo): Promise<RunReport> {
  // Cheap checks first: a typo in --model or an unusable --out should not wait for a large load and training.
  if (!zooName(inputs.model) && !(await stat(inputs.model).catch(() => null))?.isFile()) {
    throw new ValidationError([{ field: 'model', reason: `${inputs.model} is neither a zoo model (zoo:mlp, zoo:cnn, zoo:ds-cnn) nor a file` }]);
  }
  await mkdir(inputs.out, { recursive: true }).catch((err: unknown) => {
    throw new ValidationError([{ field: 'out', reason: `cannot create ${inputs.out}: ${(err as Error).message}` }]);
  });
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
  io.log(`data ${inputs.data} (${data.format}): ${datasetLength(data.train)} train, ${datasetLength(data.test)} test samples, ${data.task}, ${data.classes} ${data.task === 'classification' ? 'classes' : 'targets'}`);
  const model = await resolveModel(inputs.model, data, config, inputs);
  const out = new ArtifactWriter(inputs.out);
  const progress = createProgress({
    tty: io.tty,
    log: io.log,
    stepsPerEpoch: Math.ceil(datasetLength(data.train) * (1 - config.validation_fraction) / config.batch_size),
    batchSize: config.batch_size,
    epochs: { TRAINING_FLOAT: config.epochs ?? (model.hasWeights ? 0 : 3), TRAINING_QAT: config.qat_epochs },
  });
  try {
    return await runPipeline({
      data: {
        ...data,
        name: data.builtin ? `builtin:${data.builtin.name}` : path.basename(inputs.data),
        sha256: data.builtin ? data.builtin.sha256 : await dataSha256(inputs),
        ...(data.builtin ? { licence: `${data.builtin.title}: ${data.builtin.licence}` } : {}),
      },
      model,
      config,
      backend: backend.backend,
      sink: out,
      progress,
      versions: { 'qat-service': VERSION, node: process.version, 'tfjs-core': tf.version_core, 'onnxruntime-node': ORT_VERSION },
    });
  } finally {
    progress.done();
    model.model.dispose();
  }
}
