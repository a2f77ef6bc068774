// checkCompatibility: an imported model against a dataset and a task, every mismatch in one error.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCompatibility, compatibilityProblems, importModel, type ModelInfo, ModelError } from '../../../src/data/model/index.js';
import { useBackend } from '../../support/backends.js';
import { loadSklearn } from '../../support/datasets.js';
import { fixtureBytes, fixtureJson } from './helpers.js';

beforeAll(() => useBackend('cpu'));

type Obj = Record<string, any>;

async function infoOf(modelJson: unknown, weights?: Map<string, Uint8Array>): Promise<ModelInfo> {
  const { model, info } = await importModel({ modelJson, ...(weights ? { weights } : {}) }, { maxParams: 1_000_000 });
  model.dispose();
  return info;
}

/** A Keras 2 Sequential over `layers`, the first given its input shape. */
function sequential(input: number[], layers: Obj[]): Obj {
  layers[0]!.config.batch_input_shape = [null, ...input];
  return { class_name: 'Sequential', config: { name: 'seq', layers } };
}

const iris = loadSklearn('iris');
const diabetes = loadSklearn('diabetes');

describe('checkCompatibility', () => {
  it('accepts the trained iris classifier (softmax head) for the iris dataset', async () => {
    const info = await infoOf(fixtureBytes('iris-keras2/model.json'), new Map([['group1-shard1of1.bin', fixtureBytes('iris-keras2/group1-shard1of1.bin')]]));
    expect(compatibilityProblems(info, { sampleShape: iris.train.sampleShape, task: 'classification', classes: iris.classes })).toEqual([]);
  });

  it('lists every mismatch at once, giving both shapes', async () => {
    const info = await infoOf(fixtureBytes('iris-keras2/model.json'), new Map([['group1-shard1of1.bin', fixtureBytes('iris-keras2/group1-shard1of1.bin')]]));
    let error: unknown;
    try {
      checkCompatibility(info, { sampleShape: [28, 28, 1], task: 'classification', classes: 10 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelError);
    expect((error as ModelError).code).toBe('MODEL_INCOMPATIBLE');
    expect((error as ModelError).fields).toEqual([
      { field: 'model.input_shape', reason: "the model takes samples of shape [4], but the dataset's samples have shape [28, 28, 1]" },
      { field: 'model.output_shape', reason: 'the model outputs 3 class scores, but the dataset has 10 classes' },
    ]);
    expect(compatibilityProblems(info, { sampleShape: diabetes.train.sampleShape, task: 'regression', classes: 1 })).toEqual([
      { field: 'model.input_shape', reason: "the model takes samples of shape [4], but the dataset's samples have shape [10]" },
      { field: 'model.output_shape', reason: 'a regression model must output 1 value per sample, this one outputs 3' },
    ]);
  });

  it('a regression model has one linear output; a classifier ends in logits or softmax, even behind a dropout', async () => {
    const regressor = await infoOf(sequential([10], [{ class_name: 'Dense', config: { name: 'h', units: 8, activation: 'relu' } }, { class_name: 'Dense', config: { name: 'y', units: 1 } }]));
    expect(compatibilityProblems(regressor, { sampleShape: diabetes.train.sampleShape, task: 'regression', classes: 1 })).toEqual([]);

    const sigmoid = await infoOf(sequential([4], [{ class_name: 'Dense', config: { name: 'p', units: 3, activation: 'sigmoid' } }]));
    expect(compatibilityProblems(sigmoid, { sampleShape: [4], task: 'classification', classes: 3 })).toEqual([
      { field: 'model.output_activation', reason: "a classifier must end in logits (linear) or softmax, this model ends in 'sigmoid'" },
    ]);
    const softmaxThenDropout = await infoOf(
      sequential([4], [{ class_name: 'Dense', config: { name: 'p', units: 3, activation: 'softmax' } }, { class_name: 'Dropout', config: { name: 'drop', rate: 0.1 } }]),
    );
    expect(softmaxThenDropout.outputActivation).toBe('softmax');
    expect(compatibilityProblems(softmaxThenDropout, { sampleShape: [4], task: 'classification', classes: 3 })).toEqual([]);

    const featureMap = await infoOf(sequential([8, 8, 1], [{ class_name: 'Conv2D', config: { name: 'c', filters: 10, kernel_size: 3 } }]));
    expect(compatibilityProblems(featureMap, { sampleShape: [8, 8, 1], task: 'classification', classes: 10 })).toEqual([
      { field: 'model.output_shape', reason: 'the model outputs [6, 6, 10] per sample; it must output a vector (one value per class, or one for regression)' },
    ]);
  });

  it("names the layers QAT cannot quantize with prepareQat's reasons, unless the job keeps them in float", async () => {
    const info = await infoOf(fixtureBytes('keras3-mnist-sequential.json'));
    const mnist = { sampleShape: [28, 28, 1], task: 'classification' as const, classes: 10 };
    expect(compatibilityProblems(info, mnist)).toEqual([
      {
        field: 'model.layers.batch_normalization',
        reason: 'batch_normalization (BatchNormalization) cannot be quantized: BatchNormalization must directly follow a Conv2D/DepthwiseConv2D/SeparableConv2D/Dense layer to be folded',
      },
    ]);
    expect(compatibilityProblems(info, { ...mnist, qat: { layers: { batch_normalization: { float: true } } } })).toEqual([]);
    expect(compatibilityProblems(info, { ...mnist, qat: { allowFloatFallback: true } })).toEqual([]);

    const digits = fixtureJson<Obj>('digits-keras3/model.json').modelTopology.model_config;
    const layers = digits.config.layers as Obj[];
    const relu = layers.find((l) => l.name === 're_lu')!;
    relu.class_name = 'LeakyReLU';
    relu.config = { name: 're_lu', negative_slope: 0.1 };
    const pad = { module: 'keras.layers', class_name: 'ZeroPadding2D', config: { name: 'pad', padding: [[1, 1], [1, 1]] }, name: 'pad', inbound_nodes: [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ['re_lu', 0, 0] } }], kwargs: {} }] };
    layers.splice(layers.indexOf(relu) + 1, 0, pad);
    layers.find((l) => l.name === 'max_pooling2d')!.inbound_nodes[0].args[0].config.keras_history = ['pad', 0, 0];
    const leaky = await infoOf(digits);
    expect(leaky.outputShape).toEqual([10]);
    expect(compatibilityProblems(leaky, { sampleShape: [8, 8, 1], task: 'classification', classes: 10 })).toEqual([
      { field: 'model.layers.re_lu', reason: 're_lu (LeakyReLU) cannot be quantized: layer type has no int8 equivalent here' },
      { field: 'model.layers.pad', reason: 'pad (ZeroPadding2D) cannot be quantized: layer type has no int8 equivalent here' },
    ]);
  });
});
