// One training step of the zoo's cnn or mlp (float or QAT) on WASM, timed and profiled kernel by kernel
// with input shapes (the largest calls, then totals by kernel), to see what src/engine should speed up.
//   npx tsx bench/engine-train-profile.ts [--model cnn|mlp] [--qat] [--top N]
import * as tf from '@tensorflow/tfjs-core';
import { prepareQat } from '../src/core/qat/prepare.js';
import { makeBatch } from '../src/core/train/dataset.js';
import { Trainer } from '../src/core/train/trainer.js';
import { buildModel } from '../src/core/zoo/index.js';
import { selectBackend } from '../src/engine/backend.js';
import { loadMnist } from '../tests/support/datasets.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string, fallback: string) => (argv.includes(name) ? (argv[argv.indexOf(name) + 1] ?? fallback) : fallback);
const modelName = value('--model', 'cnn') as 'cnn' | 'mlp';
const top = Number(value('--top', '25'));

await selectBackend('wasm');
const data = loadMnist({ train: 512, test: 100, seed: 0 });
let model = buildModel(modelName, { inputShape: [28, 28, 1], classes: 10, seed: 0 });
if (flag('--qat')) model = prepareQat(model).model;
const trainer = new Trainer(model, data.train, { task: 'classification', batchSize: 128, seed: 0, optimizer: { kind: 'adam' }, lr: { lr: 1e-3 } });
const batch = makeBatch(data.train, 'classification', null, 0, 128);
for (let i = 0; i < 3; i++) trainer.trainStep(batch.x, batch.y);
const steps = 10;
const t0 = performance.now();
for (let i = 0; i < steps; i++) trainer.trainStep(batch.x, batch.y);
console.log(`${modelName}${flag('--qat') ? ' qat' : ' float'}: ${((performance.now() - t0) / steps).toFixed(1)} ms/step without profiling`);
const info = await tf.profile(() => {
  trainer.trainStep(batch.x, batch.y);
});
const calls = info.kernels.map((k) => ({ name: k.name, ms: Number(k.kernelTimeMs) || 0, shapes: k.inputShapes.map((s) => `[${s}]`).join(' ') }));
console.log('largest calls (a kernel that runs other kernels counts them again):');
for (const c of [...calls].sort((a, b) => b.ms - a.ms).slice(0, top)) console.log(`${c.ms.toFixed(2).padStart(8)} ms  ${c.name.padEnd(24)} ${c.shapes}`);
const totals = new Map<string, { ms: number; calls: number }>();
for (const c of calls) {
  const t = totals.get(c.name) ?? { ms: 0, calls: 0 };
  t.ms += c.ms;
  t.calls++;
  totals.set(c.name, t);
}
console.log('by kernel:');
for (const [name, t] of [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`${t.ms.toFixed(2).padStart(8)} ms  ${name.padEnd(24)} ${t.calls}×`);
trainer.dispose();
