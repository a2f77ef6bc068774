// `qat run`: the pipeline of a job, in-process, on local files — no Redis or Postgres. This file only
// resolves the inputs (data and model from disk or the zoo) and writes outputs to --out; the pipeline
// itself (src/workers/pipeline) is the same one a worker runs.
import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as tf from '../../core/tf.js';
import { buildModel, MODEL_NAMES, type ModelName, ZooShapeError } from '../../core/zoo/index.js';
import { checkCompatibility } from '../../data/model/index.js';
import { selectBackend } from '../../engine/backend.js';
import { ValidationError } from '../../errors/index.js';
import type { RunReport } from '../../export/report/index.js';
import type { RunConfig } from '../../services/runConfig.js';
import { runPipeline } from '../../workers/pipeline/runPipeline.js';
import type { PipelineModel } from '../../workers/pipeline/types.js';
import { VERSION } from '../runtime.js';
import { ArtifactWriter, pathSha256 } from './artifacts.js';
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

async function resolveModel(spec: string, data: LoadedData, config: RunConfig, maxParams: number): Promise<PipelineModel> {
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
  const imported = await loadModelFile(spec, { maxParams });
  try {
    checkCompatibility(imported.info, { sampleShape: data.train.sampleShape, task: data.task, classes: data.classes });
  } catch (err) {
    imported.model.dispose();
    throw err;
  }
  return { model: imported.model, name: path.basename(spec), source: imported.info.format, hasWeights: imported.info.hasWeights };
}

export async function runQat(inputs: RunInputs, config: RunConfig, io: RunIo): Promise<RunReport> {
  zooName(inputs.model); // a typo in zoo:NAME should not wait for a large data load
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
  io.log(`data ${inputs.data} (${data.format}): ${data.train.y.length} train, ${data.test.y.length} test samples, ${data.task}, ${data.classes} classes`);
  const model = await resolveModel(inputs.model, data, config, inputs.maxParams);
  const out = new ArtifactWriter(inputs.out);
  const progress = createProgress({
    tty: io.tty,
    log: io.log,
    stepsPerEpoch: Math.ceil(data.train.y.length / config.batch_size),
    batchSize: config.batch_size,
    epochs: { TRAINING_FLOAT: config.epochs ?? (model.hasWeights ? 0 : 3), TRAINING_QAT: config.qat_epochs },
  });
  try {
    return await runPipeline({
      data: {
        ...data,
        name: data.builtin ? `builtin:${data.builtin.name}` : path.basename(inputs.data),
        sha256: data.builtin ? data.builtin.sha256 : await pathSha256(inputs.data),
        ...(data.builtin ? { licence: `${data.builtin.title}: ${data.builtin.licence}` } : {}),
      },
      model,
      config,
      backend: backend.backend,
      sink: out,
      progress,
      versions: { 'qat-service': VERSION, node: process.version, 'tfjs-core': tf.version_core },
    });
  } finally {
    progress.done();
    model.model.dispose();
  }
}
