// Accuracy of int8 (and 4-bit weight) QAT against float and PTQ on real data, test split never trained on:
//   npm run bench:qat -- [--model cnn|mlp] [--data mnist|wine|breast_cancer|digits|iris] [--epochs E] [--qat-epochs Q] [--weight-bits B]
// Prints one JSON line per run with the bars of issue 3: QAT int8 within 0.3 points of float, integer
// reference within 0.1 points of the QAT simulation, and (at 4 bits) QAT recovering >= half of PTQ's loss.
import { parseArgs } from 'node:util';
import { selectBackend } from '../src/engine/backend.js';
import { compareQuantization } from '../src/core/pipeline/compare.js';
import type { Dataset } from '../src/core/train/dataset.js';
import { buildModel } from '../src/core/zoo/index.js';
import { loadMnist, loadSklearn, type SklearnName } from '../tests/support/datasets.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'cnn' },
    data: { type: 'string', default: 'mnist' },
    train: { type: 'string', default: '8000' },
    test: { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '3' },
    'qat-epochs': { type: 'string', default: '2' },
    'weight-bits': { type: 'string', default: '8' },
    backend: { type: 'string', default: 'auto' },
    seed: { type: 'string', default: '0' },
    observer: { type: 'string', default: 'minmax' },
  },
});

const backend = await selectBackend(values.backend as 'auto');
let train: Dataset;
let test: Dataset;
let classes: number;
if (values.data === 'mnist') {
  const d = loadMnist({ train: Number(values.train), test: Number(values.test), seed: Number(values.seed) });
  train = d.train;
  test = d.test;
  classes = 10;
} else {
  const d = loadSklearn(values.data as SklearnName, { testFraction: 0.25, seed: Number(values.seed) });
  train = d.train;
  test = d.test;
  classes = d.classes;
}
const model = buildModel(values.model as 'cnn' | 'mlp', { inputShape: train.sampleShape, classes, seed: Number(values.seed) });
const started = performance.now();
const report = await compareQuantization(model, train, test, {
  task: 'classification',
  floatEpochs: Number(values.epochs),
  qatEpochs: Number(values['qat-epochs']),
  batchSize: values.data === 'mnist' ? 128 : 32,
  optimizer: { kind: 'adam' },
  lr: 1e-3,
  qatLr: 1e-4,
  seed: Number(values.seed),
  qat: { weightBits: Number(values['weight-bits']) },
  calibration: { samples: 1000, observer: values.observer as 'minmax' },
  onPhase: (p) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${p}\n`),
});
const acc = (m: { accuracy?: number }) => Math.round((m.accuracy ?? Number.NaN) * 1e4) / 1e4;
const points = (a: number, b: number) => Math.round((a - b) * 1e4) / 100;
const float = acc(report.float.metrics);
const out = {
  model: values.model,
  data: values.data,
  backend: backend.backend,
  weight_bits: Number(values['weight-bits']),
  train_samples: train.y.length,
  test_samples: test.y.length,
  float_accuracy: float,
  ptq_dynamic_accuracy: acc(report.ptqDynamic.metrics),
  ptq_static_accuracy: acc(report.ptqStatic.metrics),
  ptq_static_int8_reference_accuracy: acc(report.ptqStatic.int8Reference),
  qat_accuracy: acc(report.qat.metrics),
  qat_int8_reference_accuracy: acc(report.qat.int8Reference),
  qat_vs_float_points: points(acc(report.qat.int8Reference), float),
  int8_reference_vs_qat_points: points(acc(report.qat.int8Reference), acc(report.qat.metrics)),
  ptq_loss_points: points(float, acc(report.ptqStatic.metrics)),
  // Only meaningful when PTQ lost something: the share of that loss QAT won back.
  qat_recovered_fraction:
    float - acc(report.ptqStatic.metrics) > 0
      ? Math.round(((acc(report.qat.metrics) - acc(report.ptqStatic.metrics)) / (float - acc(report.ptqStatic.metrics))) * 1000) / 1000
      : null,
  agreement_int8_reference_vs_qat: report.qat.agreement,
  float_samples_per_s: Math.round(report.float.samplesPerS ?? 0),
  qat_samples_per_s: Math.round(report.qat.samplesPerS ?? 0),
  bytes: report.bytes,
  macs_per_sample: report.macsPerSample,
  layers: report.layers.map((l) => ({ name: l.name, weight_sqnr_db: Math.round(l.weightSqnrDb * 10) / 10, output_sqnr_db: l.outputSqnrDb === null ? null : Math.round(l.outputSqnrDb * 10) / 10 })),
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
