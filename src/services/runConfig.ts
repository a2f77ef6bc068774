// The options of a QAT run: one schema for the `config` of a job over HTTP (snake_case, as here) and for
// the flags of `qat run` (the same names in kebab-case, generated from this schema), so the two cannot
// drift. Defaults are filled in and echoed back, so a report always says exactly what ran.
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { ValidationError } from '../errors/index.js';
import { schemaProblems } from './schemaProblems.js';

const Int = (min: number, max: number, dflt: number, description: string) => Type.Integer({ minimum: min, maximum: max, default: dflt, description });
const Num = (min: number, max: number, dflt: number, description: string, exclusiveMinimum = false) =>
  Type.Number({ ...(exclusiveMinimum ? { exclusiveMinimum: min } : { minimum: min }), maximum: max, default: dflt, description });

export const RunConfigSchema = Type.Object(
  {
    // Data handling.
    task: Type.Optional(Type.Enum(['classification', 'regression'], { description: 'Inferred from the labels when absent.' })),
    label_column: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'CSV/TSV label column, by name or 0-based index (negative counts from the end); default: the last.' })),
    skip_rows: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'CSV/TSV lines to skip before the header or the data.' })),
    test_fraction: Num(0, 0.9, 0.2, 'Stratified test split taken from the data when no separate test set is given.', true),
    validation_fraction: Type.Number({ minimum: 0, maximum: 0.5, default: 0, description: 'Stratified validation split taken from the training data, for early stopping; 0 disables it.' }),
    patience: Int(0, 1000, 0, 'Early stopping: epochs without validation improvement before stopping (best weights are restored); 0 disables it. Needs validation_fraction > 0.'),
    augment_shift: Int(0, 8, 0, 'Images: random shift of up to this many pixels (zero fill) per training sample.'),
    augment_flip: Type.Boolean({ default: false, description: 'Images: random horizontal flip of training samples.' }),
    standardize: Type.Optional(
      Type.Boolean({ description: 'Tabular data: standardise features with training-split statistics. Default: on, except for an imported model with trained weights (it expects its own preprocessing).' }),
    ),
    augment_noise: Type.Number({ minimum: 0, maximum: 10, default: 0, description: 'Gaussian noise (standard deviation, in preprocessed input units) added to training samples.' }),
    // Model.
    width: Num(0, 16, 1, 'Width multiplier of a zoo model (cnn at 4 has 64 and 128 filters).', true),
    // Training.
    epochs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1000, description: 'Float training epochs before quantization. Default: 3 for a model without trained weights (zoo, architecture only), 0 for one with weights.' }),
    ),
    qat_epochs: Int(1, 1000, 2, 'QAT fine-tuning epochs (at least 1: the activation ranges are observed while training).'),
    batch_size: Int(1, 8192, 128, 'Batch size.'),
    lr: Num(0, 10, 0.001, 'Float learning rate (Adam).', true),
    qat_lr: Num(0, 10, 0.0001, 'QAT learning rate (Adam).', true),
    seed: Int(0, 2 ** 31 - 1, 0, 'Seed of initialisation, shuffles, splits and augmentation.'),
    // Data-parallel training.
    shards: Int(1, 64, 1, 'Data-parallel shards: the training set is cut into this many equal, disjoint shards trained at once by as many worker slots, merged every sync_every steps; each shard trains with batch ⌈batch_size / shards⌉. `qat run` trains the shards in turn in its own process.'),
    sync_every: Int(1, 100_000, 32, 'Data-parallel: steps each shard trains between merges (one round). The default was chosen by measurement (README, Data-parallel jobs).'),
    // Quantization.
    weight_bits: Int(2, 8, 8, 'Weight bits (symmetric, narrow range).'),
    activation_bits: Type.Enum([8], { default: 8, description: 'Activation bits. Only 8 can be converted and exported today (16-bit activations are simulated by the core but have no int8 deployment path).' }),
    per_channel: Type.Boolean({ default: true, description: 'Per-output-channel weight scales for convolutions (else per tensor).' }),
    observer: Type.Enum(['minmax', 'ema', 'percentile', 'mse'], {
      default: 'minmax',
      description: 'Range calibration of the static PTQ baseline.',
    }),
    calibration_samples: Int(1, 1_000_000, 1000, 'Training samples used to calibrate static PTQ.'),
  },
  { additionalProperties: false, $id: 'RunConfig' },
);

export type RunConfig = Static<typeof RunConfigSchema>;

/** Validates a partial config, fills the defaults and checks the rules that span fields. */
export function resolveRunConfig(input: unknown): RunConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new ValidationError([{ field: 'config', reason: 'must be an object' }]);
  const withDefaults = Value.Default(RunConfigSchema, structuredClone(input)) as Record<string, unknown>;
  const problems = schemaProblems(RunConfigSchema, withDefaults);
  if (problems.length > 0) throw new ValidationError(problems);
  const config = withDefaults as RunConfig;
  if (config.patience > 0 && config.validation_fraction === 0) {
    throw new ValidationError([{ field: 'patience', reason: 'early stopping needs a validation split: set validation_fraction > 0' }]);
  }
  return config;
}
