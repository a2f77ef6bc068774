// Submit-time check of a job's model against its dataset, from what the models and datasets tables
// record about them (no file is read and no TF.js is loaded on the API's thread). It refuses what the
// worker would refuse with MODEL_INCOMPATIBLE after queueing (src/workers/training/jobInputs.ts, with
// src/data/model/compatibility.ts and src/core/zoo): the worker keeps its own check as the backstop,
// for anything a row does not record. Unknown facts (older rows, a task overridden by the config) are
// not guessed at: that part of the check is left to the worker.
import type { SubmitDataset, SubmitModel } from '../db/jobRepository.js';
import type { FieldProblem } from '../errors/index.js';

export type { SubmitDataset, SubmitModel };

const shape = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * The zoo's cnn (src/core/zoo/cnn.ts): two stages of a 3×3 'valid' convolution then a 2×2 max-pool
 * (stride 2). ds-cnn pads 'same' (any image size works) and mlp flattens any shape. Returns the first
 * layer that would have no outputs for an image of `h`×`w`, or null. tests/api/job-compatibility.test.ts
 * checks this against building the real models.
 */
export function cnnEmptyLayer(h: number, w: number): string | null {
  let dims = [h, w];
  for (const stage of [1, 2]) {
    dims = dims.map((d) => d - 2);
    if (dims.some((d) => d < 1)) return `conv${stage}`;
    dims = dims.map((d) => Math.floor(d / 2));
    if (dims.some((d) => d < 1)) return `pool${stage}`;
  }
  return null;
}

const CLASSIFIER_HEADS = new Set(['linear', 'softmax']);

/** Every reason the model cannot take the dataset, each naming `model_id`; empty when it fits (or is not known not to). */
export function submitCompatibilityProblems(model: SubmitModel, dataset: SubmitDataset, config: { task?: string }): FieldProblem[] {
  const problems: string[] = [];
  const sample = dataset.sampleShape ?? (dataset.features > 0 ? [dataset.features] : null);
  // A task the config forces onto the data changes its targets: the head is then the worker's to check.
  const task = config.task === undefined || config.task === dataset.task ? dataset.task : null;
  const zoo = model.zoo?.name ?? (model.format === 'zoo' ? model.name.replace(/^zoo:/, '') : null);

  if (zoo !== null) {
    if (zoo !== 'mlp' && sample && sample.length !== 3) {
      problems.push(`zoo:${zoo} needs image samples [height, width, channels]; this dataset's samples are ${shape(sample)} (use zoo:mlp)`);
    } else if (zoo === 'cnn' && sample) {
      const empty = cnnEmptyLayer(sample[0]!, sample[1]!);
      if (empty) problems.push(`zoo:cnn cannot take ${shape(sample)} inputs: its layer '${empty}' would have no outputs (use larger images, zoo:ds-cnn or zoo:mlp)`);
    }
    return problems.map((reason) => ({ field: 'model_id', reason }));
  }

  if (model.inputShape && sample && shape(model.inputShape) !== shape(sample)) {
    problems.push(`the model takes samples of shape ${shape(model.inputShape)}, but the dataset's samples have shape ${shape(sample)}`);
  }
  const out = model.outputShape;
  if (out && out.length !== 1) {
    problems.push(`the model outputs ${shape(out)} per sample; it must output a vector (one value per class, or one for regression)`);
  } else if (out && task === 'classification') {
    if (dataset.classes !== null && out[0] !== dataset.classes) problems.push(`the model outputs ${out[0]} class scores, but the dataset has ${dataset.classes} classes`);
    if (model.outputActivation !== null && !CLASSIFIER_HEADS.has(model.outputActivation)) {
      problems.push(`a classifier must end in logits (linear) or softmax, this model ends in '${model.outputActivation}'`);
    }
  } else if (out && task === 'regression' && out[0] !== 1) {
    problems.push(`a regression model must output 1 value per sample, this one outputs ${out[0]}`);
  }
  for (const l of model.unsupportedLayers) problems.push(`layer ${l.name} (${l.className}) cannot be quantized: ${l.reason}`);
  return problems.map((reason) => ({ field: 'model_id', reason }));
}
