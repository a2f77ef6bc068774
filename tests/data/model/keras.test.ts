// Keras models in the formats real tools write (fixtures modelled on them, see tests/fixtures/models):
// the TF.js converter's model.json around a Keras 2 and a Keras 3 config, with trained weights, and
// bare `model.to_json()` architectures of both versions, with and without a weights manifest.
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { importModel } from '../../../src/data/model/index.js';
import { useBackend } from '../../support/backends.js';
import { loadMnist, loadSklearn } from '../../support/datasets.js';
import { fixtureBytes, fixtureJson, predict } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const limits = { maxParams: 1_000_000 };
const floats = (bytes: Uint8Array) => new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const accuracy = (scores: Float32Array, y: ArrayLike<number>, classes: number) => {
  let right = 0;
  for (let i = 0; i < y.length; i++) {
    const row = Array.from(scores.subarray(i * classes, (i + 1) * classes));
    if (row.indexOf(Math.max(...row)) === y[i]) right++;
  }
  return right / y.length;
};

interface ConverterJson {
  modelTopology: { model_config: Record<string, unknown> };
  weightsManifest: unknown[];
}

describe('Keras 2 through the TF.js converter (iris)', () => {
  const iris = loadSklearn('iris');
  const bin = fixtureBytes('iris-keras2/group1-shard1of1.bin');
  const load = () => importModel({ modelJson: fixtureBytes('iris-keras2/model.json'), weights: new Map([['group1-shard1of1.bin', bin]]) }, limits);

  it('unwraps model_config, keeps the trained weights, and reports the model', async () => {
    const { model, info } = await load();
    expect(info).toMatchObject({ format: 'tfjs-layers', name: 'sequential', params: 4 * 16 + 16 + 16 * 3 + 3, inputShape: [4], outputShape: [3], outputActivation: 'softmax', hasWeights: true, unsupportedLayers: [] });
    expect(info.layers.map((l) => l.className)).toEqual(['InputLayer', 'Dense', 'Dropout', 'Dense']);
    model.dispose();
  });

  it('predicts what the weights compute by hand: relu(x·W1 + b1) → softmax(·W2 + b2), 90%+ on the test split', async () => {
    const { model } = await load();
    const w = floats(bin);
    const [w1, b1, w2, b2] = [w.subarray(0, 64), w.subarray(64, 80), w.subarray(80, 128), w.subarray(128, 131)];
    const n = iris.test.y.length;
    const got = predict(model, iris.test.x as Float32Array, [n, 4]);
    for (let s = 0; s < n; s++) {
      const x = iris.test.x.subarray(s * 4, s * 4 + 4);
      const h = Array.from({ length: 16 }, (_, j) => Math.max(0, b1[j]! + [0, 1, 2, 3].reduce((a, i) => a + x[i]! * w1[i * 16 + j]!, 0)));
      const z = Array.from({ length: 3 }, (_, k) => b2[k]! + h.reduce((a, hj, j) => a + hj * w2[j * 3 + k]!, 0));
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      e.forEach((v, k) => expect(got[s * 3 + k]).toBeCloseTo(v / e.reduce((a, b) => a + b), 5));
    }
    expect(accuracy(got, iris.test.y, 3)).toBeGreaterThanOrEqual(0.9);
    model.dispose();
  });
});

describe('Keras 3 through the TF.js converter (digits as 8×8 images)', () => {
  const digits = loadSklearn('digits');
  const n = digits.test.y.length;
  const bin = fixtureBytes('digits-keras3/group1-shard1of1.bin');

  /** The same network written with the tfjs-layers API, its weights taken from the file by position. */
  function reference(): tfl.LayersModel {
    const input = tfl.input({ shape: [8, 8, 1] });
    const conv = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false });
    const bn = tfl.layers.batchNormalization({ epsilon: 0.001 });
    const dense = tfl.layers.dense({ units: 10 });
    let x = bn.apply(conv.apply(input)) as tfl.SymbolicTensor;
    x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: dense.apply(x) as tfl.SymbolicTensor });
    const w = floats(bin);
    let at = 0;
    const take = (shape: number[]) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return tf.tensor(w.slice(at, (at += size)), shape);
    };
    const values = [[take([3, 3, 1, 8])], [take([8]), take([8]), take([8]), take([8])], [take([128, 10]), take([10])]];
    expect(at).toBe(w.length);
    [conv, bn, dense].forEach((layer, i) => layer.setWeights(values[i]!));
    tf.dispose(values.flat());
    return model;
  }

  it('normalises the Keras 3 config, maps vars/N weight names, and predicts as the same network built by hand', async () => {
    const { model, info } = await importModel({ modelJson: fixtureBytes('digits-keras3/model.json'), weights: new Map([['group1-shard1of1.bin', bin]]) }, limits);
    expect(info).toMatchObject({ format: 'tfjs-layers', name: 'digits_cnn', params: 72 + 4 * 8 + 1280 + 10, inputShape: [8, 8, 1], outputShape: [10], outputActivation: 'linear', hasWeights: true, unsupportedLayers: [] });
    const ref = reference();
    const got = predict(model, digits.test.x as Float32Array, [n, 8, 8, 1]);
    const want = predict(ref, digits.test.x as Float32Array, [n, 8, 8, 1]);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(accuracy(got, digits.test.y, 10)).toBeGreaterThanOrEqual(0.9);
    model.dispose();
    ref.dispose();
  });

  it('the bare Keras 3 to_json() with the manifest given separately imports the same model', async () => {
    const doc = fixtureJson<ConverterJson>('digits-keras3/model.json');
    const weights = new Map([['group1-shard1of1.bin', bin]]);
    const container = await importModel({ modelJson: doc, weights }, limits);
    const bare = await importModel({ modelJson: JSON.stringify(doc.modelTopology.model_config), weightsManifest: doc.weightsManifest, weights }, limits);
    expect(bare.info.format).toBe('keras-json');
    expect(bare.info.hasWeights).toBe(true);
    const x = digits.test.x.subarray(0, 20 * 64) as Float32Array;
    expect(predict(bare.model, x, [20, 8, 8, 1])).toEqual(predict(container.model, x, [20, 8, 8, 1]));
    container.model.dispose();
    bare.model.dispose();
  });

  it('without weights the model keeps its seeded initial weights (the run float-trains it first)', async () => {
    const doc = fixtureJson<ConverterJson>('digits-keras3/model.json');
    const a = await importModel({ modelJson: doc.modelTopology.model_config }, limits);
    const b = await importModel({ modelJson: doc.modelTopology.model_config }, limits);
    expect(a.info.hasWeights).toBe(false);
    const kernel = (m: tfl.LayersModel) => m.getLayer('conv2d').getWeights()[0]!.dataSync();
    expect(kernel(a.model)).toEqual(kernel(b.model)); // HeNormal with seed 7
    expect(Array.from(kernel(a.model)).some((v) => v !== 0)).toBe(true);
    expect(Array.from(a.model.getLayer('batch_normalization').getWeights()[3]!.dataSync())).toEqual(new Array(8).fill(1));
    a.model.dispose();
    b.model.dispose();
  });
});

describe('bare model.to_json() architectures', () => {
  const mnist = loadMnist({ train: 10, test: 3, seed: 1 }).test;
  it('Keras 2 Functional CNN with a softmax head: probabilities on real inputs', async () => {
    const { model, info } = await importModel({ modelJson: fixtureBytes('keras2-mnist-cnn.json') }, limits);
    expect(info).toMatchObject({ format: 'keras-json', name: 'mnist_cnn', params: 160 + 4640 + 8010, inputShape: [28, 28, 1], outputShape: [10], outputActivation: 'softmax', hasWeights: false });
    expect(info.layers.map((l) => l.className)).toEqual(['InputLayer', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense']);
    const p = predict(model, mnist.x, [3, 28, 28, 1]);
    for (let s = 0; s < 3; s++) expect(p.subarray(s * 10, s * 10 + 10).reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    model.dispose();
  });

  it('Keras 2 Sequential without an InputLayer (batch_input_shape on the first Dense)', async () => {
    const { model, info } = await importModel({ modelJson: fixtureBytes('keras2-iris-sequential.json') }, limits);
    expect(info).toMatchObject({ params: 4 * 8 + 8 + 8 * 3 + 3, inputShape: [4], outputShape: [3], outputActivation: 'softmax' });
    model.dispose();
  });

  it('Keras 3 Sequential: batch_shape, DTypePolicy, build_config; BN after a pool is reported for QAT', async () => {
    const { model, info } = await importModel({ modelJson: fixtureBytes('keras3-mnist-sequential.json') }, limits);
    expect(info).toMatchObject({ params: 80 + 32 + 1352 * 32 + 32 + 330, inputShape: [28, 28, 1], outputShape: [10], outputActivation: 'softmax' });
    expect(info.unsupportedLayers).toEqual([{ name: 'batch_normalization', className: 'BatchNormalization', reason: expect.stringMatching(/must directly follow a Conv2D/) }]);
    model.dispose();
  });

  it('Keras 3 Functional with a residual Add and a depthwise conv', async () => {
    const { model, info } = await importModel({ modelJson: fixtureBytes('keras3-residual.json') }, limits);
    expect(info).toMatchObject({ params: 144 + 64 + 144 + 64 + 272 + 170, inputShape: [28, 28, 1], outputShape: [10], outputActivation: 'linear', unsupportedLayers: [] });
    const add = model.getLayer('add') as unknown as { inboundNodes: { inboundLayers: { name: string }[] }[] };
    expect(add.inboundNodes[0]!.inboundLayers.map((l) => l.name)).toEqual(['conv2d_1', 're_lu']);
    expect((model.getLayer('re_lu').getConfig() as { maxValue: number }).maxValue).toBe(6);
    model.dispose();
  });

  it('Keras 2 to_json() with its weights in a separate manifest (the iris converter weights)', async () => {
    const doc = fixtureJson<ConverterJson>('iris-keras2/model.json');
    const bin = fixtureBytes('iris-keras2/group1-shard1of1.bin');
    const { model, info } = await importModel({ modelJson: doc.modelTopology.model_config, weightsManifest: JSON.stringify(doc.weightsManifest), weights: new Map([['./group1-shard1of1.bin', bin]]) }, limits);
    expect(info).toMatchObject({ format: 'keras-json', hasWeights: true });
    expect(Array.from(model.getLayer('dense_1').getWeights()[1]!.dataSync())).toEqual(Array.from(floats(bin).subarray(128, 131)));
    model.dispose();
  });
});
