// What the writers refuse: every offending layer named in one typed ExportError (with the format),
// thrown before any bytes exist — never a file that silently computes something else.
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { convert, type IntModel } from '../../src/core/convert/index.js';
import { evaluateFloatModel } from '../../src/core/intref/index.js';
import * as tf from '../../src/core/tf.js';
import { ExportError, exportFloatOnnx, exportOnnx, exportTfjsInt8, foldedFloatWeights } from '../../src/export/index.js';
import { conv, dense, prepareObserved, uniform } from '../core/intref/models.js';
import { predictAll } from './support/predict.js';
import { artifactFiles, loadFromFiles } from './support/tfjsFiles.js';

type ST = tfl.SymbolicTensor;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Two layers kept in float that have no ONNX translation here: LayerNormalization and PReLU. */
function islandsModel(): { im: IntModel; model: tfl.LayersModel; shape: number[] } {
  const input = tfl.input({ shape: [5, 5, 2], name: 'x' });
  let x = conv(input, 'c', 4, 3, 71, { padding: 'same' });
  x = tfl.layers.layerNormalization({ name: 'norm' }).apply(x) as ST;
  x = tfl.layers.prelu({ name: 'prelu', alphaInitializer: tfl.initializers.constant({ value: 0.1 }) }).apply(x) as ST;
  x = tfl.layers.flatten({ name: 'flat' }).apply(x) as ST;
  const model = tfl.model({ name: 'islands', inputs: input, outputs: dense(x, 'logits', 3, 72) });
  const prepared = prepareObserved(model, { batches: 2, batch: 32, lo: -1, hi: 1, config: { allowFloatFallback: true } });
  return { im: convert(prepared.model), model: prepared.model, shape: prepared.inputShape };
}

function catchExport(f: () => unknown): ExportError {
  try {
    f();
  } catch (err) {
    if (err instanceof ExportError) return err;
    throw err;
  }
  throw new Error('expected an ExportError');
}

describe('export refusals', () => {
  let islands: ReturnType<typeof islandsModel>;
  beforeAll(() => {
    islands = islandsModel();
  });

  it('ONNX refuses float islands without an ONNX form, naming every layer and the format', () => {
    expect(islands.im.ops.filter((o) => o.kind === 'float').map((o) => o.layer)).toEqual(['norm', 'prelu']);
    const int8 = catchExport(() => exportOnnx(islands.im, { variant: 'int8' }));
    expect(int8.format).toBe('onnx-int8');
    expect(int8.issues.map((i) => [i.layer, i.op])).toEqual([
      ['norm', 'float LayerNormalization'],
      ['prelu', 'float PReLU'],
    ]);
    expect(int8.message).toMatch(/^cannot export onnx-int8: norm \(float LayerNormalization\): .*; prelu \(float PReLU\)/);
    const float = catchExport(() => exportFloatOnnx(islands.im, foldedFloatWeights(islands.im, islands.model)));
    expect(float.format).toBe('onnx-float');
    expect(float.issues).toHaveLength(2);
  });

  it('TF.js keeps the same float islands as their Keras layers, and the artifact still matches the reference', async () => {
    const art = await exportTfjsInt8(islands.im);
    const loaded = await loadFromFiles(artifactFiles(art));
    expect(loaded.layers.map((l) => l.getClassName())).toContain('LayerNormalization');
    const x = uniform(64 * 50, 5, -1, 1);
    const got = predictAll(loaded, x, islands.shape);
    loaded.dispose();
    const expected = evaluateFloatModel(islands.im, [x], 64, { quantizeActivations: false }).outputs[0]!;
    expect(Math.max(...got.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThanOrEqual(1e-5);
  });

  it('the float ONNX refuses missing or mis-sized float weights by tensor', () => {
    const input = tfl.input({ shape: [8], name: 'f' });
    const model = tfl.model({ name: 'tiny', inputs: input, outputs: dense(dense(input, 'a', 6, 81, 'relu'), 'b', 3, 82) });
    const { model: prepared } = prepareObserved(model, { batches: 2, batch: 16, lo: -1, hi: 1 });
    const im = convert(prepared);
    const weights = foldedFloatWeights(im, prepared);
    expect(() => exportFloatOnnx(im, weights)).not.toThrow();
    delete weights['a/bias'];
    weights['b/weight'] = new Float32Array(5);
    const err = catchExport(() => exportFloatOnnx(im, weights));
    expect(err.issues.map((i) => i.reason)).toEqual(['no float32 values given for a/bias', 'b/weight: 5 float32 values given for shape [6,3]']);
  });

  it('an IntModel of another version, an unknown op or an activation without a float form is refused per format', async () => {
    const input = tfl.input({ shape: [4, 4, 1], name: 'img' });
    const pooled = tfl.layers.maxPooling2d({ name: 'mp', poolSize: 2 }).apply(conv(input, 'c', 2, 3, 91, { activation: 'relu' })) as ST;
    const sig = tfl.layers.activation({ name: 'act', activation: 'sigmoid' }).apply(pooled) as ST;
    const model = tfl.model({ name: 'acts', inputs: input, outputs: dense(tfl.layers.flatten({ name: 'fl' }).apply(sig) as ST, 'out', 2, 92) });
    const { model: prepared } = prepareObserved(model, { batches: 2, batch: 16, lo: -1, hi: 1 });
    const im = convert(prepared);
    const clone = (): IntModel => ({ ...im, ops: im.ops.map((o) => ({ ...o })) });

    const versioned = { ...clone(), version: 2 } as unknown as IntModel;
    expect(catchExport(() => exportOnnx(versioned, { variant: 'int8' })).issues[0]!.reason).toMatch(/not an IntModel version 1/);

    const unknown = clone();
    (unknown.ops[1] as { kind: string }).kind = 'lstm';
    expect(catchExport(() => exportOnnx(unknown, { variant: 'int8' })).issues).toEqual([{ layer: 'c', op: 'lstm', reason: "op kind 'lstm' is unknown to the onnx-int8 writer" }]);
    const tfjsErr = await exportTfjsInt8(unknown).then(
      () => null,
      (err: unknown) => err,
    );
    expect(tfjsErr).toBeInstanceOf(ExportError);
    expect((tfjsErr as ExportError).format).toBe('tfjs-int8');

    // An activation the integer graph holds as a table but neither float ONNX nor TF.js can name.
    const gelu = clone();
    const op = gelu.ops.find((o) => o.kind === 'activation') as { activation: string };
    op.activation = 'gelu_tanh';
    expect(exportOnnx(gelu, { variant: 'int8' }).length).toBeGreaterThan(0);
    expect(catchExport(() => exportFloatOnnx(gelu, foldedFloatWeights(gelu, prepared))).issues).toEqual([{ layer: 'act', op: 'activation', reason: "activation 'gelu_tanh' has no float ONNX operator here" }]);
    await expect(exportTfjsInt8(gelu)).rejects.toThrow(/cannot export tfjs-int8: act \(activation\): activation 'gelu_tanh' has no TF.js identifier/);
  });
});
