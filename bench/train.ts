// Training throughput benchmark: float (and, when a QAT transform is plugged in, QAT) training of the
// zoo's mlp and cnn on the 10,000 real MNIST digits, batch 128, Adam, against the PyTorch peer run on
// the same split in the same process tree, one thread each. One JSON line per model on stdout.
//
//   npx tsx bench/train.ts [--model mlp|cnn] [--train N] [--test N] [--epochs E] [--repeat R]
//                          [--backend auto|wasm|cpu] [--no-peer] [--profile]
import * as tf from '@tensorflow/tfjs-core';
import { prepareQat } from '../src/core/qat/prepare.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type * as tfl from '@tensorflow/tfjs-layers';
import { pathToFileURL } from 'node:url';
import { type Dataset, makeBatch } from '../src/core/train/dataset.js';
import { evaluateDataset } from '../src/core/train/evaluate.js';
import { Trainer } from '../src/core/train/trainer.js';
import { buildModel } from '../src/core/zoo/index.js';
import { loadMnist, type MnistSplit } from '../tests/support/datasets.js';
import { type PeerResult, runPeer } from './peer.js';

/** Turns a trained float model into its QAT version (prepareQat plugs in here). */
export type QatTransform = (m: tfl.LayersModel) => tfl.LayersModel;

export interface BenchOptions {
  models: Array<'mlp' | 'cnn'>;
  train: number;
  test: number;
  epochs: number;
  qatEpochs: number;
  batchSize: number;
  lr: number;
  qatLr: number;
  seed: number;
  /** Repeat the training split this many times (both here and for the peer) for longer, steadier runs. */
  repeat: number;
  backend: 'auto' | 'wasm' | 'cpu';
  peer: boolean;
  profile: boolean;
}

export const DEFAULTS: BenchOptions = {
  models: ['mlp', 'cnn'],
  train: 8000,
  test: 2000,
  epochs: 3,
  qatEpochs: 1,
  batchSize: 128,
  lr: 1e-3,
  qatLr: 1e-4,
  seed: 0,
  repeat: 1,
  backend: 'auto',
  peer: true,
  profile: false,
};

export function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { ...DEFAULTS, models: [...DEFAULTS.models] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v == null) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--model') {
      const m = value();
      if (m !== 'mlp' && m !== 'cnn') throw new Error('--model is mlp or cnn');
      o.models = [m];
    } else if (a === '--train') o.train = int();
    else if (a === '--test') o.test = int();
    else if (a === '--epochs') o.epochs = int();
    else if (a === '--qat-epochs') o.qatEpochs = int();
    else if (a === '--batch-size') o.batchSize = int();
    else if (a === '--seed') o.seed = int();
    else if (a === '--repeat') o.repeat = Math.max(1, int());
    else if (a === '--backend') {
      const b = value();
      if (b !== 'auto' && b !== 'wasm' && b !== 'cpu') throw new Error('--backend is auto, wasm or cpu');
      o.backend = b;
    } else if (a === '--no-peer') o.peer = false;
    else if (a === '--profile') o.profile = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

/** The project's backend selection (src/engine) when it loads; plain TF.js otherwise. */
export async function activateBackend(pref: BenchOptions['backend']): Promise<{ backend: string; reason: string }> {
  try {
    const engine = await import('../src/engine/backend.js');
    const s = await engine.selectBackend(pref);
    return { backend: s.backend, reason: s.reason };
  } catch (e) {
    const name = pref === 'auto' ? 'wasm' : pref;
    await tf.setBackend(name);
    await tf.ready();
    return { backend: tf.getBackend(), reason: `src/engine unavailable (${(e as Error).message.split('\n')[0]}); plain tf.setBackend('${name}')` };
  }
}

function repeated(d: MnistSplit, times: number): MnistSplit {
  if (times === 1) return d;
  const rep = <T extends Float32Array | Int32Array | Uint8Array>(a: T): T => {
    const out = new (a.constructor as new (n: number) => T)(a.length * times);
    for (let k = 0; k < times; k++) out.set(a, k * a.length);
    return out;
  };
  return { ...d, x: rep(d.x), y: rep(d.y), images: rep(d.images) };
}

interface PhaseResult {
  samplesPerS: number;
  stepMs: number;
  accuracy: number;
  trainer: Trainer;
}

/** Trains `model` for `epochs` (timed: the whole fit, as the peer times its epoch loops), then evaluates. */
async function trainPhase(model: tfl.LayersModel, train: Dataset, test: Dataset, o: BenchOptions, epochs: number, lr: number, seed: number): Promise<PhaseResult> {
  const trainer = new Trainer(model, train, { task: 'classification', batchSize: o.batchSize, seed, optimizer: { kind: 'adam' }, lr: { lr } });
  const t0 = performance.now();
  const r = await trainer.fit({ epochs });
  const seconds = (performance.now() - t0) / 1000;
  const samples = epochs * (train.y.length);
  const accuracy = evaluateDataset(model, test, 'classification', 1000).accuracy!;
  return { samplesPerS: samples / seconds, stepMs: (seconds * 1000) / r.step, accuracy, trainer };
}

/** Kernel time of one training step, by kernel name, largest first (tf.profile; stderr). */
export async function profileStep(label: string, trainer: Trainer, data: Dataset, batchSize: number, top = 15): Promise<void> {
  const batch = makeBatch(data, 'classification', null, 0, Math.min(batchSize, data.y.length));
  trainer.trainStep(batch.x, batch.y); // warm
  const t0 = performance.now();
  const info = await tf.profile(() => {
    trainer.trainStep(batch.x, batch.y);
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; calls: number; composite: boolean }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    // Names with no kernel on this backend are op scopes (customGrad forwards, fused ops) whose time
    // also counts in the kernels they ran: listed, but kept out of the total.
    const composite = tf.getKernel(k.name, tf.getBackend()) == null;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0, composite };
    e.ms += ms;
    e.calls++;
    byName.set(k.name, e);
    if (!composite) total += ms;
  }
  const lines = [...byName]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([name, e]) => {
      const share = e.composite ? '  scope' : `${((100 * e.ms) / total).toFixed(1).padStart(6)}%`;
      return `  ${name.padEnd(36)} ${String(e.calls).padStart(4)}× ${e.ms.toFixed(2).padStart(9)} ms ${share}`;
    });
  process.stderr.write(
    `profile ${label} (${tf.getBackend()}, batch ${batchSize}): ${info.kernels.length} kernel calls, ${total.toFixed(1)} ms in kernels ` +
      `(a project kernel that runs other kernels counts them twice), ${wall.toFixed(1)} ms wall with profiling on\n${lines.join('\n')}\n`,
  );
  tf.dispose([batch.x, batch.y]);
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

export async function benchModel(name: 'mlp' | 'cnn', o: BenchOptions, backend: { backend: string; reason: string }, qat?: QatTransform): Promise<Record<string, unknown>> {
  const data = loadMnist({ train: o.train, test: o.test, seed: o.seed });
  const train = repeated(data.train, o.repeat);
  const out: Record<string, unknown> = {
    model: name,
    backend: backend.backend,
    train_samples: train.y.length,
    test_samples: data.test.y.length,
    epochs: o.epochs,
    batch_size: o.batchSize,
  };
  const model = buildModel(name, { inputShape: [28, 28, 1], classes: 10, seed: o.seed });
  const float = await trainPhase(model, train, data.test, o, o.epochs, o.lr, o.seed);
  out.float_samples_per_s = round(float.samplesPerS);
  out.float_step_ms = round(float.stepMs, 2);
  out.float_accuracy = round(float.accuracy, 4);
  if (o.profile) await profileStep(`${name} float`, float.trainer, train, o.batchSize);
  float.trainer.dispose();

  if (qat) {
    const qm = qat(model);
    const q = await trainPhase(qm, train, data.test, o, o.qatEpochs, o.qatLr, o.seed + 1);
    out.qat_samples_per_s = round(q.samplesPerS);
    out.qat_step_ms = round(q.stepMs, 2);
    out.qat_accuracy = round(q.accuracy, 4);
    out.qat_overhead = round(float.samplesPerS / q.samplesPerS, 3);
    if (o.profile) await profileStep(`${name} qat`, q.trainer, train, o.batchSize);
    q.trainer.dispose();
    if (qm !== model) qm.dispose();
  }
  model.dispose();

  if (o.peer) {
    const img = (d: MnistSplit) => ({ images: d.images, labels: d.y, rows: 28, cols: 28 });
    const peer: PeerResult | null = await runPeer({
      model: name,
      train: img(train),
      test: img(data.test),
      batchSize: o.batchSize,
      epochs: o.epochs,
      qatEpochs: o.qatEpochs,
      lr: o.lr,
      qatLr: o.qatLr,
      seed: o.seed,
      threads: 1,
    });
    if (peer) {
      out.peer_torch = peer.torch;
      out.peer_float_samples_per_s = peer.float_train_samples_per_s;
      out.peer_qat_samples_per_s = peer.qat_train_samples_per_s;
      out.peer_float_accuracy = round(peer.float_accuracy, 4);
      if (peer.qat_int8_accuracy != null) out.peer_qat_int8_accuracy = round(peer.qat_int8_accuracy, 4);
      if (peer.ptq_int8_accuracy != null) out.peer_ptq_int8_accuracy = round(peer.ptq_int8_accuracy, 4);
      out.float_vs_peer = round(float.samplesPerS / peer.float_train_samples_per_s, 3);
      if (qat && typeof out.qat_samples_per_s === 'number') out.qat_vs_peer = round(out.qat_samples_per_s / peer.qat_train_samples_per_s, 3);
    } else {
      out.peer = 'unavailable (see stderr)';
    }
  }
  out.backend_reason = backend.reason;
  return out;
}

export async function main(argv: string[], qat?: QatTransform): Promise<void> {
  const o = parseArgs(argv);
  const backend = await activateBackend(o.backend);
  for (const name of o.models) {
    const line = await benchModel(name, o, backend, qat);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2), (m) => prepareQat(m).model).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
