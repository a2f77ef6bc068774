// The TF.js artifact's topology: the IntModel as plain Keras layers (the prepared QAT model with BN
// folded and its fake-quant removed) holding the dequantized int8 weights. Quantize/dequantize ops
// vanish (the model computes in float32 like any TF.js model); every other op is its Keras layer.
//
// Weight storage. TF.js (and its converter) quantize per tensor only: one min and scale per weight.
// - Per-tensor int8 weights (Dense by default) are stored as the converter stores uint8 weights,
//   min = -128·s, scale = s: the layer holds exactly q·s.
// - Per-channel int8 weights (Conv/Depthwise by default) cannot share one scale. The layer's kernel is
//   stored as the integers themselves (scale 1, min -128), and the per-channel scales follow as a
//   BatchNormalization with gamma = scale[c], beta = the dequantized bias, mean 0, variance 1 and
//   epsilon 0 — an exact per-channel multiply-add (rsqrt(1 + 0) = 1) that every TF.js version loads.
//   The product differs from q·s[c] summed first only by float32 rounding (~1e-7 relative).
// Biases, BN scales and float-island weights stay float32 (an int32 bias has no uint8 form).
import * as tfl from '@tensorflow/tfjs-layers';
import type { Conv2dOp, DenseOp, DepthwiseOp, FloatLayerOp, IntModel, IntOp } from '../../core/convert/types.js';
import * as tf from '../../core/tf.js';
import { dequantizedBias, floatPayload, uint8Payload, type WeightPayload } from './payload.js';

type Layer = tfl.layers.Layer;
type ST = tfl.SymbolicTensor;

/** IntModel activation names as TF.js activation identifiers (null: none). */
export const TFJS_ACTIVATIONS: Record<string, string> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  elu: 'elu',
  selu: 'selu',
  softplus: 'softplus',
  swish: 'swish',
  hard_sigmoid: 'hardSigmoid',
};

export interface BuiltTfjsModel {
  model: tfl.LayersModel;
  /** What each weight stores, by its LayerVariable.originalName (the name in the weights manifest). */
  payloads: Map<string, WeightPayload>;
}

class Builder {
  readonly weighted: [Layer, WeightPayload[]][] = [];
  private readonly names = new Set<string>();

  constructor(readonly im: IntModel) {}

  /** Keras layer names: '/' is a scope separator in Keras, so 'sep/pointwise' becomes 'sep_pointwise'. */
  name(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_.-]/g, '_');
    let n = clean;
    for (let i = 1; this.names.has(n); i++) n = `${clean}_${i}`;
    this.names.add(n);
    return n;
  }

  apply(layer: Layer, x: ST | ST[], payloads: WeightPayload[] = []): ST {
    const y = layer.apply(x) as ST;
    if (payloads.length > 0) this.weighted.push([layer, payloads]);
    return y;
  }
}

export function buildTfjsModel(im: IntModel): BuiltTfjsModel {
  const b = new Builder(im);
  const env = new Map<string, ST>();
  const inputs = im.inputs.map((n) => {
    const x = tfl.input({ shape: im.tensors[n]!.shape.slice(1), name: b.name(n) });
    env.set(n, x);
    return x;
  });
  for (const op of im.ops) env.set(op.outputs[0]!, lowerOp(b, op, op.inputs.map((t) => env.get(t)!)));
  const model = tfl.model({ name: b.name(im.name), inputs, outputs: im.outputs.map((t) => env.get(t)!) });
  const payloads = new Map<string, WeightPayload>();
  for (const [layer, ps] of b.weighted) {
    if (layer.weights.length !== ps.length) throw new Error(`internal: ${layer.name} has ${layer.weights.length} weights, ${ps.length} payloads`);
    // setWeights copies into the layer's variables; the tidy frees the temporary tensors.
    tf.tidy(() => layer.setWeights(layer.weights.map((w, i) => tf.tensor(ps[i]!.values, w.shape as number[], 'float32'))));
    layer.weights.forEach((w, i) => payloads.set(w.originalName, ps[i]!));
  }
  return { model, payloads };
}

function lowerOp(b: Builder, op: IntOp, xs: ST[]): ST {
  const x = xs[0]!;
  const name = b.name(op.name);
  switch (op.kind) {
    case 'quantize':
    case 'dequantize':
      return x;
    case 'dense':
    case 'conv2d':
    case 'depthwise':
      return weighted(b, op, x, name);
    case 'maxpool':
      return b.apply(tfl.layers.maxPooling2d({ name, poolSize: op.poolSize, strides: op.strides, padding: op.padding }), x);
    case 'avgpool':
      return b.apply(tfl.layers.averagePooling2d({ name, poolSize: op.poolSize, strides: op.strides, padding: op.padding }), x);
    case 'globalavgpool':
      return b.apply(tfl.layers.globalAveragePooling2d({ name }), x);
    case 'globalmaxpool':
      return b.apply(tfl.layers.globalMaxPooling2d({ name }), x);
    case 'flatten':
      return b.apply(tfl.layers.flatten({ name }), x);
    case 'reshape':
      return b.apply(tfl.layers.reshape({ name, targetShape: op.shape.slice(1) }), x);
    case 'add':
      return b.apply(tfl.layers.add({ name }), xs);
    case 'average':
      return b.apply(tfl.layers.average({ name }), xs);
    case 'maximum':
      return b.apply(tfl.layers.maximum({ name }), xs);
    case 'minimum':
      return b.apply(tfl.layers.minimum({ name }), xs);
    case 'concat':
      return b.apply(tfl.layers.concatenate({ name, axis: op.axis }), xs);
    case 'softmax':
      return b.apply(tfl.layers.softmax({ name, axis: op.axis }), x);
    case 'activation':
      return b.apply(tfl.layers.activation({ name, activation: TFJS_ACTIVATIONS[op.activation]! as 'relu' }), x);
    case 'float':
      return floatIsland(b, op, xs, name);
    default: {
      const never: never = op;
      throw new Error(`internal: unknown op ${JSON.stringify((never as IntOp).kind)}`);
    }
  }
}

function weighted(b: Builder, op: DenseOp | Conv2dOp | DepthwiseOp, x: ST, name: string): ST {
  const w = b.im.tensors[op.inputs[1]!]!;
  const bias = op.inputs[2] ? b.im.tensors[op.inputs[2]]! : null;
  const perChannel = w.quant!.axis !== null;
  const q = w.data as Int8Array;
  const act = TFJS_ACTIVATIONS[op.activation]! as 'relu';
  const cout = w.shape[w.shape.length - 1]!;
  // Per-channel: integer kernel here, scales and bias in the BatchNormalization after it.
  const kernel = uint8Payload(q, perChannel ? 1 : w.quant!.scale[0]!);
  const useBias = !perChannel && bias !== null;
  const payloads = [kernel, ...(useBias ? [floatPayload(dequantizedBias(bias))] : [])];
  const common = { name, useBias, activation: perChannel ? ('linear' as const) : act };
  let layer: Layer;
  if (op.kind === 'dense') {
    layer = tfl.layers.dense({ ...common, units: cout });
  } else {
    const geometry = { kernelSize: op.kernelSize, strides: op.strides, padding: op.padding, dilationRate: op.dilations };
    layer = op.kind === 'conv2d' ? tfl.layers.conv2d({ ...common, ...geometry, filters: cout }) : tfl.layers.depthwiseConv2d({ ...common, ...geometry, depthMultiplier: op.depthMultiplier });
  }
  let y = b.apply(layer, x, payloads);
  if (!perChannel) return y;
  const scales = Float32Array.from(w.quant!.scale);
  const beta = bias ? dequantizedBias(bias) : new Float32Array(cout);
  const bn = tfl.layers.batchNormalization({ name: b.name(`${name}_scale`), axis: -1, epsilon: 0 });
  y = b.apply(bn, y, [floatPayload(scales), floatPayload(beta), floatPayload(new Float32Array(cout)), floatPayload(new Float32Array(cout).fill(1))]);
  return op.activation === 'linear' ? y : b.apply(tfl.layers.activation({ name: b.name(`${name}_${op.activation}`), activation: act }), y);
}

/** A float island: the Keras layer itself, from its class name and config, with its float32 weights. */
function floatIsland(b: Builder, op: FloatLayerOp, xs: ST[], name: string): ST {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[op.className];
  if (!entry) throw new Error(`internal: layer class ${op.className} is not registered (the check should have refused it)`);
  const [cls, fromConfig] = entry;
  const layer = fromConfig(cls, { ...op.config, name } as tf.serialization.ConfigDict) as unknown as Layer;
  const payloads = op.weights.map((t) => floatPayload(b.im.tensors[t]!.data as Float32Array));
  return b.apply(layer, xs.length === 1 ? xs[0]! : xs, payloads);
}
