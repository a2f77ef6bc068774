// Fake-quant on WASM: core's JavaScript kernels (src/core/quant/fakeQuantKernels.ts) against the
// engine's SIMD kernels (src/engine/kernels/wasm/fake-quant.ts), in ns per element, on a
// 128×26×26×16 activation (per-tensor) and the same tensor per channel (last axis, 16 channels).
//
//   npx tsx bench/engine-fake-quant.ts            micro-benchmark
//   npx tsx bench/engine-fake-quant.ts train --js [bench/train.ts args]
//        bench/train.ts with core's JavaScript kernels put back on WASM before the QAT phase
//        (without --js: the engine's kernels, i.e. plain bench/train.ts)
import * as tf from '@tensorflow/tfjs-core';
import '../src/core/quant/fakeQuant.js'; // registers core's kernels (cpu and wasm) first
import { prepareQat } from '../src/core/qat/prepare.js';
import { selectBackend } from '../src/engine/backend.js';
import { fakeQuantConfigs } from '../src/engine/kernels/wasm/fake-quant.js';
import { main } from './train.js';

const names = ['QatFakeQuant', 'QatFakeQuantGrad', 'QatFakeQuantRangeGrad'];
const coreConfigs = names.map((n) => {
  const k = tf.getKernel(n, 'wasm');
  if (k === undefined) throw new Error(`core did not register ${n} for wasm`);
  return k;
});

function use(configs: readonly tf.KernelConfig[]): void {
  for (const c of configs) {
    tf.unregisterKernel(c.kernelName, 'wasm');
    tf.registerKernel(c);
  }
}

function time(fn: () => void, reps: number): number {
  for (let i = 0; i < 3; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
}

async function micro(): Promise<void> {
  await selectBackend('wasm');
  const shape = [128, 26, 26, 16];
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 2);
  const cases = [
    ['per-tensor', tf.scalar(-2.5), tf.scalar(2), -1],
    ['per-channel', tf.linspace(-3, -1, 16), tf.linspace(1, 2.5, 16), 3],
  ] as const;
  const rows: Record<string, unknown>[] = [];
  for (const [which, configs] of [['core JS', coreConfigs], ['engine SIMD', fakeQuantConfigs]] as const) {
    use(configs);
    for (const [layout, min, max, axis] of cases) {
      const attrs = { bits: 8, narrowRange: false, axis, label: 'bench' } as never;
      const run = (name: string, inputs: tf.NamedTensorMap) => () => {
        const out = tf.engine().runKernel(name, inputs, attrs) as tf.Tensor | tf.Tensor[];
        tf.dispose(out);
      };
      const ns = (ms: number) => Math.round(((ms * 1e6) / n) * 100) / 100;
      rows.push({
        kernels: which,
        layout,
        forward_ns_per_element: ns(time(run(names[0]!, { x, min, max }), 20)),
        input_grad_ns_per_element: ns(time(run(names[1]!, { dy, x, min, max }), 20)),
        range_grad_ns_per_element: ns(time(run(names[2]!, { dy, x, min, max }), 20)),
      });
    }
  }
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
}

const argv = process.argv.slice(2);
if (argv[0] === 'train') {
  const js = argv.includes('--js');
  const rest = argv.slice(1).filter((a) => a !== '--js');
  await main(rest, (m) => {
    if (js) use(coreConfigs); // after selectBackend registered the engine's
    process.stderr.write(`QAT fake-quant kernels on wasm: ${tf.getKernel(names[0]!, 'wasm')?.kernelFunc === fakeQuantConfigs[0]!.kernelFunc ? 'engine SIMD' : 'core JS'}\n`);
    return prepareQat(m).model;
  });
} else {
  await micro();
}
