// Can this imported model be trained and quantized on this dataset? Every mismatch at once: the input
// shape against the dataset's samples, the head against the task, and the layers QAT cannot quantize
// (prepareQat's own findings, recorded at import, less those the job keeps in float).
import type { QatConfig } from '../../core/qat/config.js';
import type { Task } from '../../core/train/task.js';
import type { FieldProblem } from '../../errors/index.js';
import { ModelError } from './errors.js';
import type { ModelInfo } from './importModel.js';
import { formatShape } from './layerConfig.js';

export interface CompatibilityTarget {
  /** One dataset sample, without the batch axis. */
  sampleShape: number[];
  task: Task;
  /** Classes of a classification dataset (ignored for regression). */
  classes: number;
  /** The job's QAT settings that keep layers in float, which then need no int8 support. */
  qat?: Partial<Pick<QatConfig, 'allowFloatFallback' | 'layers'>>;
}

/** Logits (what the training loss takes) or softmax probabilities (how Keras classifiers usually end). */
const CLASSIFIER_HEADS = new Set(['linear', 'softmax']);

export function compatibilityProblems(info: ModelInfo, target: CompatibilityTarget): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (formatShape(info.inputShape) !== formatShape(target.sampleShape)) {
    problems.push({
      field: 'model.input_shape',
      reason: `the model takes samples of shape ${formatShape(info.inputShape)}, but the dataset's samples have shape ${formatShape(target.sampleShape)}`,
    });
  }
  const out = info.outputShape;
  if (out.length !== 1) {
    problems.push({ field: 'model.output_shape', reason: `the model outputs ${formatShape(out)} per sample; it must output a vector (one value per class, or one for regression)` });
  } else if (target.task === 'classification') {
    if (out[0] !== target.classes) {
      problems.push({ field: 'model.output_shape', reason: `the model outputs ${out[0]} class scores, but the dataset has ${target.classes} classes` });
    }
    if (!CLASSIFIER_HEADS.has(info.outputActivation)) {
      problems.push({ field: 'model.output_activation', reason: `a classifier must end in logits (linear) or softmax, this model ends in '${info.outputActivation}'` });
    }
  } else if (out[0] !== 1) {
    problems.push({ field: 'model.output_shape', reason: `a regression model must output 1 value per sample, this one outputs ${out[0]}` });
  }
  if (!target.qat?.allowFloatFallback) {
    for (const l of info.unsupportedLayers) {
      if (target.qat?.layers?.[l.name]?.float) continue;
      problems.push({ field: `model.layers.${l.name}`, reason: `${l.name} (${l.className}) cannot be quantized: ${l.reason}` });
    }
  }
  return problems;
}

/** Throws one ValidationError (code MODEL_INCOMPATIBLE) listing every mismatch, if there is any. */
export function checkCompatibility(info: ModelInfo, target: CompatibilityTarget): void {
  const problems = compatibilityProblems(info, target);
  if (problems.length > 0) throw new ModelError(problems, 'MODEL_INCOMPATIBLE');
}
