// report.json: the versioned contract of a run's results, the same for `qat run` and a job over HTTP.
// Published as openapi/report.schema.json (JSON Schema 2020-12); bump REPORT_VERSION on any change that
// is not a pure addition of optional fields.
import { type Static, type TSchema, Type } from 'typebox';

export const REPORT_VERSION = 1;

const Fraction = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** One number per model variant; classification accuracy (0–1) or regression MSE. */
const Variants = (what: string) =>
  Type.Object(
    {
      float: Type.Number({ description: `${what} of the float model (TF.js).` }),
      ptq_weights_only: Type.Number({ description: `${what} with int8 weights and float activations (simulated).` }),
      ptq_int8: Type.Number({ description: `${what} of static post-training quantization: the converted int8 model run by the integer reference.` }),
      qat_simulated: Type.Number({ description: `${what} of the QAT model with fake-quant, as it trained.` }),
      qat_int8: Type.Number({ description: `${what} of the converted QAT int8 model run by the integer reference (the deployable number).` }),
      int8_reference: Type.Number({ description: `Alias of qat_int8: the integer reference evaluator on the QAT int8 model.` }),
      onnx_int8: Type.Optional(Type.Number({ description: `${what} of model.int8.onnx in ONNX Runtime (CPU).` })),
      onnx_float: Type.Optional(Type.Number({ description: `${what} of model.float.onnx in ONNX Runtime (CPU): the QAT network's BN-folded weights, unquantized.` })),
    },
    { additionalProperties: false },
  );

const Metrics = Type.Object(
  {
    samples: Type.Integer({ minimum: 0 }),
    accuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    mse: Type.Optional(Type.Number({ minimum: 0 })),
    mae: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);

const EpochRecord = Type.Object(
  {
    epoch: Type.Integer({ minimum: 1 }),
    loss: Type.Number(),
    accuracy: Type.Optional(Type.Number()),
    val_loss: Type.Optional(Type.Number()),
    val_accuracy: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

const PhaseTraining = Type.Object(
  {
    epochs_run: Type.Integer({ minimum: 0 }),
    best_epoch: Nullable(Type.Integer({ minimum: 1, description: 'The epoch whose weights were kept (early stopping); null without validation.' })),
    stopped_early: Type.Boolean(),
    samples_per_s: Nullable(Type.Number({ minimum: 0 })),
    history: Type.Array(EpochRecord),
  },
  { additionalProperties: false },
);

const DataParallelTraining = Type.Object(
  {
    shards: Type.Integer({ minimum: 2 }),
    sync_every: Type.Integer({ minimum: 1 }),
    transport: Type.Enum(['bullmq', 'in-process'], { description: 'bullmq: rounds trained by worker slots at once; in-process: `qat run` trains the shards in turn.' }),
    costs: Nullable(
      Type.Object(
        {
          rounds: Type.Integer({ minimum: 0, description: 'Rounds this attempt ran (both phases; a resumed job counts from its checkpoint).' }),
          round_seconds: Type.Number({ minimum: 0, description: 'Wall time of those rounds.' }),
          train_seconds: Type.Number({ minimum: 0, description: 'Of which at least one shard was training (the slowest shard when shards train at once; more when fewer worker slots than shards train them in turn).' }),
          wait_seconds: Type.Number({ minimum: 0, description: 'Of the training time, what each round waited for its slowest shard beyond the mean shard.' }),
          sync_seconds: Type.Number({ minimum: 0, description: 'Round time outside training: moving the states, the flow, the merge.' }),
          merge_seconds: Type.Number({ minimum: 0 }),
          state_bytes: Type.Integer({ minimum: 0, description: 'Size of one state file (a round writes shards + 2 of them and reads 2·shards + 1).' }),
        },
        { additionalProperties: false, description: 'What the rounds cost; null for in-process rounds.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const RunReportSchema = Type.Object(
  {
    report_version: Type.Literal(REPORT_VERSION),
    created_at: Type.String({ format: 'date-time' }),
    task: Type.Enum(['classification', 'regression']),
    dataset: Type.Object(
      {
        name: Type.String({ description: 'File name, folder name or builtin:NAME.' }),
        format: Type.String({ description: 'How the data was read: csv, tsv, jsonl, npz, idx, the same inside an archive (e.g. "idx in tar.gz"), or builtin:NAME.' }),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Of the data file (for several files: of their sorted names and hashes).' }),
        samples: Type.Object({ train: Type.Integer({ minimum: 1 }), validation: Type.Integer({ minimum: 0 }), test: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        sample_shape: Type.Array(Type.Integer({ minimum: 1 })),
        features: Type.Integer({ minimum: 1, description: 'Values per sample (the product of sample_shape).' }),
        classes: Type.Integer({ minimum: 1, description: 'Number of classes (1 for regression).' }),
        class_names: Type.Optional(Type.Array(Type.String())),
        test_source: Type.Enum(['given', 'split']),
        licence: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    preprocessing: Type.Object(
      {
        scale: Type.Optional(Type.String({ description: 'Image scaling applied to raw values, e.g. "uint8 / 255".' })),
        standardize: Type.Optional(Type.Object({ mean: Type.Array(Type.Number()), std: Type.Array(Type.Number()) })),
        tabular: Type.Optional(
          Type.Unknown({ description: 'CSV/TSV input: the saved schema — delimiter, header, columns, label column, features in x order with one-hot vocabularies of categorical columns, class names. Encode new rows with it, then standardise.' }),
        ),
        output: Type.Optional(Type.String({ description: 'What the model outputs when it is not plain logits of the original head.' })),
      },
      { additionalProperties: false, description: 'What to apply to raw inputs before the model, at evaluation and after export.' },
    ),
    model: Type.Object(
      {
        name: Type.String(),
        source: Type.Enum(['zoo', 'tfjs-layers', 'keras-json']),
        params: Type.Integer({ minimum: 0 }),
        macs_per_sample: Type.Integer({ minimum: 0, description: 'Int8 multiply-accumulates per sample.' }),
        input_shape: Type.Array(Type.Integer({ minimum: 1 })),
        output_shape: Type.Array(Type.Integer({ minimum: 1 })),
      },
      { additionalProperties: false },
    ),
    backend: Type.String({ description: 'TF.js backend that trained the model: tensorflow, wasm or cpu.' }),
    config: Type.Record(Type.String(), Type.Unknown(), { description: 'The run configuration with defaults filled in (RunConfig).' }),
    accuracy: Type.Optional(Variants('Test accuracy (fraction)')),
    mse: Type.Optional(Variants('Test mean squared error')),
    metrics: Type.Record(Type.String(), Metrics, { description: 'Full test metrics per variant (same keys as accuracy/mse).' }),
    agreement: Type.Object(
      {
        int8_reference_vs_qat: Nullable(Fraction('Fraction of test samples whose int8 prediction equals the simulated QAT prediction (classification).')),
        max_abs_output_diff: Nullable(Type.Number({ minimum: 0, description: 'Largest |int8 reference − QAT simulation| over test outputs.' })),
        onnx_int8_vs_reference: Type.Optional(Nullable(Fraction('Fraction of test samples whose ONNX int8 prediction equals the integer reference.'))),
        max_abs_logit_diff: Type.Optional(Nullable(Type.Number({ minimum: 0, description: 'Largest |ONNX int8 − integer reference| over test outputs.' }))),
      },
      { additionalProperties: false },
    ),
    size_bytes: Type.Object(
      {
        float: Type.Integer({ minimum: 0, description: 'Float32 weights and biases of the deployed (BN-folded) network.' }),
        int8: Type.Integer({ minimum: 0, description: 'Int8 weights, int32 biases, scales and float islands.' }),
        onnx_float: Type.Optional(Type.Integer({ minimum: 0 })),
        onnx_int8: Type.Optional(Type.Integer({ minimum: 0 })),
        tfjs_int8: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      { additionalProperties: false },
    ),
    latency_ms: Type.Optional(Type.Object({ onnx_float: Type.Number(), onnx_int8: Type.Number() }, { description: 'Median latency at batch 1 in ONNX Runtime (CPU).' })),
    throughput: Type.Optional(Type.Object({ onnx_float: Type.Number(), onnx_int8: Type.Number() }, { description: 'Samples/s at batch 256 in ONNX Runtime (CPU).' })),
    train: Type.Object(
      {
        float_samples_per_s: Nullable(Type.Number({ minimum: 0 })),
        qat_samples_per_s: Nullable(Type.Number({ minimum: 0 })),
        seconds: Type.Number({ minimum: 0, description: 'Wall time of the whole run.' }),
        float: Type.Optional(PhaseTraining),
        qat: Type.Optional(PhaseTraining),
        data_parallel: Type.Optional(DataParallelTraining),
      },
      { additionalProperties: false },
    ),
    calibration: Type.Object({ observer: Type.String(), samples: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    layers: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          class: Type.String({ description: 'Integer op kind: dense, conv2d, depthwise, …' }),
          weight_bits: Nullable(Type.Integer()),
          granularity: Type.Enum(['per-channel', 'per-tensor', 'float']),
          weight_sqnr_db: Nullable(Type.Number({ description: 'null when quantization is exact (infinite SQNR).' })),
          output_sqnr_db: Nullable(Type.Number()),
          params: Type.Integer({ minimum: 0 }),
          macs: Type.Integer({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
    ),
    exports_refused: Type.Optional(
      Type.Array(Type.Object({ format: Type.String(), layer: Type.String(), reason: Type.String() }, { additionalProperties: false }), {
        description: 'Formats the model could not be written in, with the layer and reason; the other artifacts still ship.',
      }),
    ),
    artifacts: Type.Array(
      Type.Object(
        { name: Type.String(), kind: Type.String(), size_bytes: Type.Integer({ minimum: 0 }), sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
        { additionalProperties: false },
      ),
      { description: 'Every file of the run but report.json itself.' },
    ),
    versions: Type.Record(Type.String(), Type.String(), { description: 'qat-service, node, TF.js and runtime versions.' }),
  },
  { additionalProperties: false, $id: 'RunReport', title: 'qat-service run report' },
);

export type RunReport = Static<typeof RunReportSchema>;
