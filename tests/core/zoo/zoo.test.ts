// The zoo's architectures: shapes and parameter counts (against the PyTorch peer's own modules when
// PyTorch is installed), stable names, logits out, and seeded determinism.
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type ModelName } from '../../../src/core/zoo/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const PEER = '/work/shared/peers/torch_qat.py';
const PYTHON = '/usr/bin/python3';

function torchAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

function weightShapes(name: ModelName, inputShape: number[], classes: number, width?: number): Record<string, number[]> {
  const m = buildModel(name, { inputShape, classes, ...(width != null ? { width } : {}) });
  return Object.fromEntries(m.weights.map((w) => [w.originalName, w.shape as number[]]));
}

const count = (shapes: Record<string, number[]>) => Object.values(shapes).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);

describe('mlp', () => {
  it('is Flatten → Dense(256) → Dense(128) → Dense(classes) with the peer formula for its size', () => {
    const s = weightShapes('mlp', [28, 28, 1], 10);
    expect(s).toEqual({
      'fc1/kernel': [784, 256],
      'fc1/bias': [256],
      'fc2/kernel': [256, 128],
      'fc2/bias': [128],
      'logits/kernel': [128, 10],
      'logits/bias': [10],
    });
    // nn.Linear(d,256) + nn.Linear(256,128) + nn.Linear(128,k)
    expect(count(s)).toBe(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  });

  it('takes flat feature vectors without a Flatten layer and scales with the width multiplier', () => {
    const m = buildModel('mlp', { inputShape: [4], classes: 3, width: 0.25 });
    expect(m.layers.map((l) => l.name)).toEqual(['input', 'fc1', 'fc2', 'logits']);
    expect(m.countParams()).toBe(4 * 64 + 64 + 64 * 32 + 32 + 32 * 3 + 3);
  });
});

describe('cnn', () => {
  it('has the peer layout: conv/bn/relu/pool ×2, flatten, logits', () => {
    const m = buildModel('cnn', { inputShape: [28, 28, 1], classes: 10 });
    expect(m.layers.map((l) => `${l.name}:${l.getClassName()}`)).toEqual([
      'input:InputLayer',
      'conv1:Conv2D',
      'bn1:BatchNormalization',
      'relu1:ReLU',
      'pool1:MaxPooling2D',
      'conv2:Conv2D',
      'bn2:BatchNormalization',
      'relu2:ReLU',
      'pool2:MaxPooling2D',
      'flatten:Flatten',
      'logits:Dense',
    ]);
    const s = weightShapes('cnn', [28, 28, 1], 10);
    expect(s['conv1/kernel']).toEqual([3, 3, 1, 16]);
    expect(s['conv2/kernel']).toEqual([3, 3, 16, 32]);
    // ((28-2)/2 - 2)/2 = 5 → 5·5·32 features, as the peer's `s` computes
    expect(s['logits/kernel']).toEqual([5 * 5 * 32, 10]);
    // conv(+bias) + BN (gamma, beta, running mean, running var) per stage, then the linear layer
    expect(count(s)).toBe(9 * 16 + 16 + 4 * 16 + 9 * 16 * 32 + 32 + 4 * 32 + 800 * 10 + 10);
  });

  it('rejects inputs that are not images', () => {
    expect(() => buildModel('cnn', { inputShape: [784], classes: 10 })).toThrow(/image input/);
  });
});

describe('ds-cnn', () => {
  it('is stem conv + depthwise-separable blocks with BN and ReLU6, global pooling, logits', () => {
    const m = buildModel('ds-cnn', { inputShape: [28, 28, 1], classes: 10 });
    const names = m.layers.map((l) => `${l.name}:${l.getClassName()}`);
    expect(names.slice(0, 4)).toEqual(['input:InputLayer', 'stem_conv:Conv2D', 'stem_bn:BatchNormalization', 'stem_relu:ReLU']);
    expect(names).toContain('block1_dw:DepthwiseConv2D');
    expect(names).toContain('block3_pw:Conv2D');
    expect(names.slice(-2)).toEqual(['gap:GlobalAveragePooling2D', 'logits:Dense']);
    const relu6 = m.layers.filter((l) => l.getClassName() === 'ReLU').map((l) => (l.getConfig() as { maxValue?: number }).maxValue);
    expect(relu6.length).toBe(7);
    expect(relu6.every((v) => v === 6)).toBe(true);
    const bn = (c: number) => 4 * c;
    expect(m.countParams()).toBe(
      9 * 16 + bn(16) + // stem
        (9 * 16 + bn(16) + 16 * 32 + bn(32)) + // block1
        (9 * 32 + bn(32) + 32 * 64 + bn(64)) + // block2 (stride 2)
        (9 * 64 + bn(64) + 64 * 64 + bn(64)) + // block3
        64 * 10 + 10,
    );
    expect(m.outputs[0]!.shape).toEqual([null, 10]);
  });

  it('runs on small images (sklearn digits, 8×8)', () => {
    const m = buildModel('ds-cnn', { inputShape: [8, 8, 1], classes: 10, width: 0.5 });
    const y = m.predict(tf.zeros([2, 8, 8, 1])) as tf.Tensor;
    expect(y.shape).toEqual([2, 10]);
    y.dispose();
  });
});

describe('all models', () => {
  it.each(['mlp', 'cnn', 'ds-cnn'] as const)('%s: same seed → identical weights, other seed → different; logits are unbounded', (name) => {
    const opts = { inputShape: [28, 28, 1], classes: 10 };
    const a = buildModel(name, { ...opts, seed: 7 });
    const b = buildModel(name, { ...opts, seed: 7 });
    const c = buildModel(name, { ...opts, seed: 8 });
    const values = (m: typeof a) => m.weights.map((w) => Array.from(w.read().dataSync()));
    expect(values(b)).toEqual(values(a));
    expect(values(c)).not.toEqual(values(a));
    // weights of different layers come from different streams even where shapes match
    const kernels = a.weights.filter((w) => w.originalName.endsWith('kernel')).map((w) => w.read().dataSync()[0]);
    expect(new Set(kernels).size).toBe(kernels.length);
    // no softmax: outputs need not be in [0,1] nor sum to 1
    const out = a.predict(tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 1)) as tf.Tensor;
    const sums = tf.sum(out, 1).dataSync();
    expect(Array.from(sums).some((s) => Math.abs(s - 1) > 1e-3)).toBe(true);
    out.dispose();
    for (const m of [a, b, c]) m.dispose();
  });

  it('initialises like PyTorch: weights within ±1/sqrt(fan_in)', () => {
    const m = buildModel('cnn', { inputShape: [28, 28, 1], classes: 10 });
    const k = m.getLayer('conv2').getWeights()[0]!;
    const max = tf.max(tf.abs(k)).dataSync()[0]!;
    const bound = 1 / Math.sqrt(9 * 16);
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.9 * bound);
    m.dispose();
  });
});

describe.skipIf(!torchAvailable())('against the PyTorch peer (torch_qat.py)', () => {
  it('has the same tensors, shape for shape (NHWC vs NCHW), as the peer MLP and CNN', () => {
    const script = [
      'import importlib.util, json',
      `s = importlib.util.spec_from_file_location('peer', ${JSON.stringify(PEER)})`,
      'm = importlib.util.module_from_spec(s); s.loader.exec_module(m)',
      "mods = {'mlp': m.MLP(784, 10), 'cnn': m.CNN(1, 28, 10)}",
      "print(json.dumps({k: {n: list(t.shape) for n, t in v.state_dict().items() if not n.endswith('num_batches_tracked')} for k, v in mods.items()}))",
    ].join('\n');
    const peer = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8', timeout: 60_000 })) as Record<string, Record<string, number[]>>;
    const layer: Record<string, string> = { l1: 'fc1', l2: 'fc2', l3: 'logits', l: 'logits', c1: 'conv1', c2: 'conv2', b1: 'bn1', b2: 'bn2' };
    const param: Record<string, string> = { weight: 'kernel', bias: 'bias', running_mean: 'moving_mean', running_var: 'moving_variance' };
    for (const name of ['mlp', 'cnn'] as const) {
      const expected: Record<string, number[]> = {};
      for (const [key, shape] of Object.entries(peer[name]!)) {
        const [l, p] = key.split('.') as [string, string];
        const isBn = l.startsWith('b');
        const tfName = `${layer[l]}/${isBn ? { weight: 'gamma', bias: 'beta' }[p] ?? param[p] : param[p]}`;
        // torch Linear [out, in] → [in, out]; Conv2d [out, in, kh, kw] → [kh, kw, in, out]
        const tfShape = shape.length === 2 ? [shape[1]!, shape[0]!] : shape.length === 4 ? [shape[2]!, shape[3]!, shape[1]!, shape[0]!] : shape;
        expected[tfName] = tfShape;
      }
      expect(weightShapes(name, [28, 28, 1], 10)).toEqual(expected);
    }
  });
});
