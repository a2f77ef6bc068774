// The pipeline's own data steps, in the order that keeps every statistic honest: the validation split
// comes off the training data first (different seed stream from the test split), then standardisation
// is fitted on what remains for training and applied to validation and test alike. Both work in place
// on the loader's arrays (which the pipeline owns from here), so a large set is never copied.
import type { Dataset } from '../../core/train/dataset.js';
import { deriveSeed } from '../../core/train/rng.js';
import { fitStandardization, splitInPlace, type Standardization, standardizeInPlace } from '../../data/index.js';
import type { RunConfig } from '../../services/runConfig.js';
import type { PipelineData } from './types.js';

export interface PreparedData {
  train: Dataset;
  validation?: Dataset;
  test: Dataset;
  standardization?: Standardization;
}

export function prepareData(data: PipelineData, config: RunConfig, standardize: boolean): PreparedData {
  let train = data.train;
  let validation: Dataset | undefined;
  if (config.validation_fraction > 0) {
    const split = splitInPlace(train, data.task, { testFraction: config.validation_fraction, seed: deriveSeed(config.seed, 'validation') });
    train = split.train;
    validation = split.test;
  }
  if (!standardize || train.sampleShape.length !== 1) return { train, test: data.test, ...(validation ? { validation } : {}) };
  const s = fitStandardization(train);
  for (const d of [train, data.test, ...(validation ? [validation] : [])]) standardizeInPlace(d, s);
  return { train, test: data.test, ...(validation ? { validation } : {}), standardization: s };
}
