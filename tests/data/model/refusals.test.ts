// Every way a model is refused: each names the field and the reason, and none allocates a tensor.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../../src/core/zoo/index.js';
import { importModel, type ModelSource } from '../../../src/data/model/index.js';
import { useBackend } from '../../support/backends.js';
import { fixtureBytes, fixtureJson, problem, refusal, saveModel } from './helpers.js';

beforeAll(() => useBackend('cpu'));

type Obj = Record<string, any>;
const limits = { maxParams: 1_000_000 };
const irisBin = () => fixtureBytes('iris-keras2/group1-shard1of1.bin');
const irisDoc = () => fixtureJson<Obj>('iris-keras2/model.json');
const iris = (doc: Obj = irisDoc(), bin: Uint8Array = irisBin()): ModelSource => ({ modelJson: doc, weights: new Map([['group1-shard1of1.bin', bin]]) });
const refused = (source: ModelSource, l: Parameters<typeof importModel>[1] = limits) => refusal(() => importModel(source, l));

/** A Keras 2 Functional config around `layers` (entries {class_name, config, inbound?}). */
function functional(layers: Obj[], input = 'in', output = layers[layers.length - 1]!.config.name): Obj {
  return {
    class_name: 'Functional',
    config: {
      name: 'm',
      layers: layers.map((l) => ({ ...l, name: l.config.name, inbound_nodes: l.inbound ? [l.inbound.map((s: string) => [s, 0, 0, {}])] : [] })),
      input_layers: [[input, 0, 0]],
      output_layers: [[output, 0, 0]],
    },
    keras_version: '2.15.0',
  };
}
const inputLayer = (shape: (number | null)[], name = 'in') => ({ class_name: 'InputLayer', config: { name, batch_input_shape: [null, ...shape], dtype: 'float32' } });
const dense = (name: string, units: number, from: string, extra: Obj = {}) => ({ class_name: 'Dense', config: { name, units, ...extra }, inbound: [from] });

describe('size limits', () => {
  it('refuses a model over maxParams, naming the count and the limit', async () => {
    const saved = await saveModel(buildModel('cnn', { inputShape: [28, 28, 1], classes: 10 }));
    const e = await refused({ modelJson: saved.json, weights: saved.weights }, { maxParams: 13_001 });
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.fields).toEqual([{ field: 'model', reason: 'the model has 13002 parameters, over the limit of 13001' }]);
  });

  it('refuses a model declaring ten billion weights at once, from its JSON alone', async () => {
    const huge = functional([inputLayer([100_000]), dense('wide', 100_000, 'in')]);
    const started = performance.now();
    const e = await refused({ modelJson: huge });
    expect(e.fields).toEqual([{ field: 'model', reason: 'the model has 10000100000 parameters, over the limit of 1000000' }]);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('refuses JSON over its byte limit, files over their count and bytes over theirs', async () => {
    const text = JSON.stringify(irisDoc());
    problem(await refused({ modelJson: text }, { maxParams: 1000, maxJsonBytes: 1000 }), 'model', new RegExp(`the model JSON is ${Buffer.byteLength(text)} bytes, over the limit of 1000 bytes`));
    const saved = await saveModel(buildModel('ds-cnn', { inputShape: [28, 28, 1], classes: 10 }), 3);
    problem(await refused({ modelJson: saved.json, weights: saved.weights }, { maxParams: 20_000, maxFiles: 2 }), 'weights', /the manifest lists 3 weight files, over the limit of 2/);
    problem(await refused(iris(), { maxParams: 1000, maxWeightBytes: 500 }), 'weights', /the weight files take 524 bytes, over the limit of 500 bytes/);
  });
});

describe('weight files', () => {
  it('refuses a file whose length disagrees with the manifest, naming it with both lengths', async () => {
    const e = await refused(iris(irisDoc(), irisBin().slice(0, 520)));
    expect(e.fields).toEqual([{ field: 'weights', reason: "weight file 'group1-shard1of1.bin': expected 524 bytes (from the manifest), got 520" }]);
  });

  it('for sharded weights, names every file of the group with its length', async () => {
    const saved = await saveModel(buildModel('ds-cnn', { inputShape: [28, 28, 1], classes: 10 }), 3);
    const shard = saved.weights.get('group1-shard2of3.bin')!;
    saved.weights.set('group1-shard2of3.bin', shard.slice(0, -1));
    const [a, b, c] = [...saved.weights.values()].map((w) => w.byteLength);
    const e = await refused({ modelJson: saved.json, weights: saved.weights });
    expect(e.fields).toEqual([
      {
        field: 'weights',
        reason: `weight files of group 0 (group1-shard1of3.bin: ${a}, group1-shard2of3.bin: ${b}, group1-shard3of3.bin: ${c}): expected ${saved.data.byteLength} bytes in total (from the manifest), got ${saved.data.byteLength - 1}`,
      },
    ]);
  });

  it('refuses a missing file, and files without a manifest', async () => {
    const e = await refused({ modelJson: irisDoc(), weights: new Map([['other.bin', irisBin()]]) });
    expect(e.fields).toEqual([{ field: 'weights', reason: "weight file 'group1-shard1of1.bin' listed in the manifest was not provided" }]);
    const { weightsManifest, ...bare } = irisDoc();
    expect(weightsManifest).toBeDefined();
    problem(await refused(iris(bare)), 'weights', /1 weight file\(s\) given, but there is no weights manifest/);
  });

  it('refuses paths that leave the model folder', async () => {
    for (const path of ['../secret.bin', '/etc/passwd', 'shards/../../x.bin', 'https://example.com/w.bin']) {
      const doc = irisDoc();
      doc.weightsManifest[0].paths = [path];
      problem(await refused(iris(doc)), 'weights', new RegExp(`weight file path ${JSON.stringify(path).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} must be relative and stay inside the model's folder`));
    }
  });
});

describe('manifest against the layers', () => {
  it("refuses a weight whose shape is not the layer's declared shape", async () => {
    const doc = irisDoc();
    doc.weightsManifest[0].weights[0].shape = [4, 15];
    const e = await refused(iris(doc));
    expect(e.fields).toEqual([{ field: 'weights', reason: "manifest weight 'dense/kernel' has shape [4, 15], but layer 'dense' (Dense) declares kernel as [4, 16]" }]);
  });

  it('refuses a weight that fills nothing, and names the layer weight left empty', async () => {
    const doc = irisDoc();
    doc.weightsManifest[0].weights[3].name = 'dense_9/bias';
    doc.weightsManifest[0].weights[1].name = 'dense/offset';
    const e = await refused(iris(doc));
    problem(e, 'weights', /manifest weight 'dense_9\/bias' matches no weight of the model$/);
    problem(e, 'weights', /manifest weight 'dense\/offset' matches no weight of the model: layer 'dense' \(Dense\) has no weight "offset" \(it has kernel, bias\)/);
    problem(e, 'weights', /layer 'dense' \(Dense\) weight bias \[16\] is missing from the manifest/);
    problem(e, 'weights', /layer 'dense_1' \(Dense\) weight bias \[3\] is missing from the manifest/);
  });

  it('refuses int32 and bool data for float32 weights', async () => {
    const doc = irisDoc();
    doc.weightsManifest[0].weights[3].dtype = 'int32';
    doc.weightsManifest[0].weights[1].dtype = 'bool';
    const e = await refused(iris(doc));
    problem(e, 'weights', /manifest weight 'dense_1\/bias' is int32, but dense_1\/bias is a float32 weight/);
    problem(e, 'weights', /manifest weight 'dense\/bias' is bool, but dense\/bias is a float32 weight/);
  });
});

describe('architecture', () => {
  it('names every unknown layer class, including classes registered in TF.js but not importable', async () => {
    const model = functional([
      inputLayer([10, 4]),
      { class_name: 'LSTM', config: { name: 'lstm', units: 8 }, inbound: ['in'] },
      { class_name: 'MyAttention', config: { name: 'attention' }, inbound: ['lstm'] },
      { class_name: 'QatLinear', config: { name: 'qat' }, inbound: ['attention'] },
    ]);
    const e = await refused({ modelJson: model });
    expect(e.fields).toEqual([
      { field: 'model', reason: "layer 'lstm' has the unknown layer class LSTM" },
      { field: 'model', reason: "layer 'attention' has the unknown layer class MyAttention" },
      { field: 'model', reason: "layer 'qat' has the unknown layer class QatLinear" },
    ]);
  });

  it('refuses what the documents cannot be: not JSON, not an object, a graph model, too deep', async () => {
    problem(await refused({ modelJson: '{"modelTopology": ' }), 'model', /^the model JSON is not valid JSON: /);
    problem(await refused({ modelJson: '[1, 2]' }), 'model', /the model JSON must be an object, got an array/);
    problem(await refused({ modelJson: { format: 'graph-model', modelTopology: { node: [] } } }), 'model', /format 'graph-model' is not supported/);
    problem(await refused({ modelJson: { hello: 'world' } }), 'model', /not a TF.js Layers model.json \(no modelTopology\) nor a Keras model JSON \(no class_name\)/);
    let deep: Obj = {};
    for (let i = 0; i < 100; i++) deep = { a: deep };
    problem(await refused({ modelJson: { class_name: 'Sequential', config: deep } }), 'model', /nested deeper than 64 levels/);
  });

  it('refuses graphs the project cannot train: nested, shared, two inputs, unknown sizes', async () => {
    const nested = functional([inputLayer([4]), { class_name: 'Sequential', config: { name: 'inner', layers: [] }, inbound: ['in'] }]);
    problem(await refused({ modelJson: nested }), 'model', /layer 'inner' is a nested model \(Sequential\): export a flat model/);

    const shared = functional([inputLayer([4]), dense('d', 4, 'in'), dense('e', 4, 'd')]);
    shared.config.layers[1].inbound_nodes.push([['e', 0, 0, {}]]);
    problem(await refused({ modelJson: shared }), 'model', /layer 'd' is called 2 times: shared layers are not supported/);

    const two = functional([inputLayer([4], 'a'), inputLayer([4], 'b'), { class_name: 'Add', config: { name: 'sum' }, inbound: ['a', 'b'] }], 'a');
    two.config.input_layers = [['a', 0, 0], ['b', 0, 0]];
    problem(await refused({ modelJson: two }), 'model', /the model has 2 inputs \(input_layers\); only models with one input are supported/);

    const open = functional([inputLayer([null, null, 3]), { class_name: 'Conv2D', config: { name: 'c', filters: 4, kernel_size: 3 }, inbound: ['in'] }]);
    problem(await refused({ modelJson: open }), 'model', /input 'in' has shape \[null,null,null,3\]: only inputs of a fixed size are supported/);
  });

  it('refuses layer settings that tfjs-layers would silently ignore or cannot run', async () => {
    const conv = (name: string, cfg: Obj, from: string) => ({ class_name: 'Conv2D', config: { name, filters: 4, kernel_size: 3, ...cfg }, inbound: [from] });
    const model = functional([
      inputLayer([8, 8, 4]),
      conv('grouped', { groups: 2 }, 'in'),
      conv('nchw', { data_format: 'channels_first' }, 'grouped'),
      dense('lora', 4, 'nchw', { lora_rank: 4 }),
      dense('exp', 4, 'lora', { activation: 'exponential' }),
      dense('half', 4, 'exp', { dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'mixed_float16' }, registered_name: null } }),
    ]);
    const e = await refused({ modelJson: model });
    problem(e, 'model', /layer 'grouped' \(Conv2D\): grouped convolutions are not supported \(groups: 2\)/);
    problem(e, 'model', /layer 'lora' \(Dense\): LoRA-adapted layers are not supported/);
    problem(e, 'model', /layer 'exp' \(Dense\): activation "exponential" is not supported/);
    problem(e, 'model', /layer 'half' \(Dense\): dtype "mixed_float16" is not supported \(float32 only\)/);
    // Shape problems come after these, one at a time.
    delete model.config.layers[1].config.groups;
    for (const l of model.config.layers.slice(3)) for (const k of ['lora_rank', 'activation', 'dtype']) delete l.config[k];
    problem(await refused({ modelJson: model }), 'model', /layer 'nchw' \(Conv2D\): data_format "channels_first" is not supported \(channels_last only\)/);
    const tiny = functional([inputLayer([2, 2, 1]), conv('big', {}, 'in')]);
    problem(await refused({ modelJson: tiny }), 'model', /layer 'big' \(Conv2D\): the window leaves nothing of an input of size 2 \(kernel 3, 'valid' padding\)/);
  });
});
