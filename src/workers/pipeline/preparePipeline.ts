// Everything the pipeline does before training, in one place, so the coordinator of a job and every
// shard worker of a data-parallel job derive the same training set (validation split, standardisation),
// the same model with a logits head, and the same augmentation from the same inputs and config.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { withLogitsHead } from '../../core/pipeline/logitsHead.js';
import type { BatchTransform } from '../../core/train/batchTransform.js';
import { augmentationFor } from '../../data/index.js';
import type { RunConfig } from '../../services/runConfig.js';
import { prepareData, type PreparedData } from './prepareData.js';
import type { PipelineData, PipelineModel } from './types.js';

export type ResolvedRunConfig = RunConfig & { epochs: number; standardize: boolean };

/** The defaults that depend on the model: a trained model is not retrained or re-standardised unless asked. */
export function resolveModelDefaults(config: RunConfig, hasWeights: boolean): ResolvedRunConfig {
  return { ...config, epochs: config.epochs ?? (hasWeights ? 0 : 3), standardize: config.standardize ?? !hasWeights };
}

export interface PreparedPipeline {
  config: ResolvedRunConfig;
  prepared: PreparedData;
  /** The model trained: the input model, or a copy whose softmax head became logits (then the caller disposes it). */
  head: { model: LayersModel; removedSoftmax: boolean };
  transformBatch: BatchTransform | undefined;
}

/** Prepares in place: the data's arrays belong to the pipeline from here on. */
export async function preparePipeline(data: PipelineData, model: PipelineModel, runConfig: RunConfig): Promise<PreparedPipeline> {
  const config = resolveModelDefaults(runConfig, model.hasWeights);
  const prepared = prepareData(data, config, config.standardize);
  const transformBatch = augmentationFor(
    prepared.train.sampleShape,
    { shift: config.augment_shift, flip: config.augment_flip ? 'horizontal' : false, noise: config.augment_noise },
    config.seed,
  );
  const head = await withLogitsHead(model.model);
  return { config, prepared, head, transformBatch };
}
