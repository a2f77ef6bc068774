// Conv gradient kernels on WASM (this project's) against the plain CPU backend, and one training
// step of a small conv net on WASM. Prints one JSON object per line.
//   npx tsx bench/engine-conv.ts          (the CPU backend's 28×28 filter gradient alone takes ~1 min)
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { registerProjectKernels, selectBackend } from '../src/engine/backend.js';

// WASM's own Conv2DBackpropInput, kept for comparison. Its setup runs when the backend starts, so
// the backend starts here before the project's kernels replace it.
const builtinInputGradient = tf.getKernel('Conv2DBackpropInput', 'wasm');
await tf.setBackend('wasm');
const selection = await selectBackend('wasm');
console.log(JSON.stringify({ backend: selection.backend, threads: selection.threads, reason: selection.reason }));

/** Runs fn (awaited, so asynchronous training steps stay inside) with WASM's own input gradient. */
async function withBuiltinInputGradient<T>(fn: () => T | Promise<T>): Promise<T> {
  if (builtinInputGradient === undefined) throw new Error('WASM has no Conv2DBackpropInput of its own');
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel(builtinInputGradient);
  try {
    return await fn();
  } finally {
    registerProjectKernels();
  }
}

/** Mean ms per call; slow backends get one untimed warm-up less and fewer repetitions. */
function msPerCall(fn: () => tf.Tensor, slow: boolean): number {
  const run = () => tf.tidy(fn).dispose();
  if (!slow) run();
  const minReps = slow ? 1 : 5;
  const minMs = slow ? 0 : 1000;
  let reps = 0;
  const start = performance.now();
  while (reps < minReps || performance.now() - start < minMs) {
    run();
    reps++;
  }
  return (performance.now() - start) / reps;
}

function kernel(name: string, inputs: tf.NamedTensorMap, attrs: object): () => tf.Tensor {
  return () => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

interface Layer {
  op: 'conv2d' | 'depthwiseConv2d';
  size: number;
  inC: number;
  outC: number;
}

const batch = 128;
const k = 3;
const layers: Layer[] = [
  { op: 'conv2d', size: 28, inC: 16, outC: 32 },
  { op: 'conv2d', size: 13, inC: 16, outC: 32 },
  { op: 'depthwiseConv2d', size: 28, inC: 16, outC: 16 },
  { op: 'depthwiseConv2d', size: 13, inC: 16, outC: 16 },
];
for (const layer of layers) {
  const out = layer.size - k + 1;
  const depthwise = layer.op === 'depthwiseConv2d';
  const flop = 2 * batch * out * out * k * k * (depthwise ? layer.inC : layer.inC * layer.outC);
  const xShape = [batch, layer.size, layer.size, layer.inC];
  const wShape = [k, k, layer.inC, depthwise ? 1 : layer.outC];
  const dyShape = [batch, out, out, layer.outC];
  const names = depthwise
    ? { filter: 'DepthwiseConv2dNativeBackpropFilter', input: 'DepthwiseConv2dNativeBackpropInput' }
    : { filter: 'Conv2DBackpropFilter', input: 'Conv2DBackpropInput' };
  const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] };
  const variants = depthwise
    ? [{ backend: 'wasm', kernels: 'project' }, { backend: 'cpu', kernels: 'cpu' }]
    : [{ backend: 'wasm', kernels: 'project' }, { backend: 'wasm', kernels: 'wasm-builtin' }, { backend: 'cpu', kernels: 'cpu' }];
  for (const v of variants) {
    await tf.setBackend(v.backend);
    const x = tf.randomNormal(xShape);
    const w = tf.randomNormal(wShape);
    const dy = tf.randomNormal(dyShape);
    const slow = v.backend === 'cpu';
    const row = (gradient: string, ms: number) =>
      console.log(JSON.stringify({ op: `${layer.op} ${gradient}-gradient`, backend: v.backend, kernels: v.kernels, input: xShape, filter: wShape, msPerStep: +ms.toFixed(2), gflops: +(flop / ms / 1e6).toFixed(2) }));
    const inputGradient = kernel(names.input, { dy, filter: w }, { ...attrs, inputShape: xShape });
    if (v.kernels === 'wasm-builtin') {
      row('input', await withBuiltinInputGradient(() => msPerCall(inputGradient, slow)));
    } else {
      row('filter', msPerCall(kernel(names.filter, { x, dy }, { ...attrs, filterShape: wShape }), slow));
      row('input', msPerCall(inputGradient, slow));
    }
    tf.dispose([x, w, dy]);
  }
}

// The peer's `cnn` (DESIGN §8): Conv3x3(16,valid)+BN+ReLU - MaxPool2 - Conv3x3(32,valid)+BN+ReLU -
// MaxPool2 - Flatten - Dense(10), trained with Adam at batch 128.
await tf.setBackend('wasm');
function cnn(): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: 'valid', useBias: false }));
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.reLU());
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'valid', useBias: false }));
  model.add(tfl.layers.batchNormalization());
  model.add(tfl.layers.reLU());
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 10 }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  return model;
}
const model = cnn();
const xs = tf.randomUniform([batch, 28, 28, 1]);
const ys = tf.floor(tf.randomUniform([batch, 1], 0, 10));
async function msPerStep(steps: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys);
  return (performance.now() - start) / steps;
}
// Warm-up also creates Adam's slots, which are not leaks.
for (let i = 0; i < 3; i++) await model.trainOnBatch(xs, ys);
const before = tf.memory().numTensors;
// Alternating rounds, so that drift on a shared machine does not favour either variant.
const project: number[] = [];
const builtin: number[] = [];
for (let round = 0; round < 3; round++) {
  project.push(await msPerStep(8));
  builtin.push(await withBuiltinInputGradient(() => msPerStep(8)));
}
const leaked = tf.memory().numTensors - before;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
for (const [kernels, times] of [['project', project], ['project, but WASM builtin Conv2DBackpropInput', builtin]] as const) {
  const ms = median(times);
  console.log(JSON.stringify({ op: 'cnn train step (forward+backward+adam)', backend: 'wasm', kernels, batch, msPerStep: +ms.toFixed(1), samplesPerSec: Math.round((batch * 1000) / ms), rounds: times.map((t) => +t.toFixed(1)), tensorsLeakedOver48Steps: leaked }));
}
