// Shape inference over Keras layer configs, without TF.js: each layer class the importer accepts, its
// output shape (batch axis left out) and the weights it declares, in tfjs-layers' order and with
// Keras' names. This is what lets a model be measured (and refused) before any tensor exists.
import { convOutputLength } from '../../core/qat/shapes.js';
import type { Json, JsonObject } from './json.js';
import {
  bool,
  channelsLast,
  elements,
  formatShape,
  image,
  intPair,
  nonNegativeInt,
  padding,
  positiveInt,
  RuleError,
  type Shape,
  single,
} from './layerConfig.js';

export interface WeightDecl {
  /** Keras' weight name inside the layer: kernel, bias, gamma, moving_mean, … */
  name: string;
  shape: Shape;
}

export interface LayerOutput {
  shape: Shape;
  weights: WeightDecl[];
  /** The activation the layer applies last, for telling logits from probabilities at the head. */
  activation?: string;
  /** The layer only moves or drops values: the head's activation is its input's. */
  passthrough?: boolean;
}

type Rule = (c: JsonObject, inputs: Shape[]) => LayerOutput;

/** Activation names (Keras spelling) that tfjs-layers 4.22 can deserialise. */
export const TFJS_ACTIVATIONS: ReadonlySet<string> = new Set([
  'linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hard_sigmoid', 'softmax', 'log_softmax', 'softplus', 'softsign', 'tanh', 'swish', 'mish', 'gelu',
]);

const activationOf = (c: JsonObject) => (typeof c.activation === 'string' ? c.activation : 'linear');

function outputLength(length: number, kernel: number, pad: 'valid' | 'same', stride: number, dilation: number, what: string): number {
  const out = convOutputLength(length, kernel, pad, stride, dilation)!;
  if (out < 1) throw new RuleError(`${what} leaves nothing of an input of size ${length} (kernel ${kernel}, '${pad}' padding)`);
  return out;
}

/** Output height and width of a 2-D window (conv or pool) over `x`. */
function window2d(c: JsonObject, x: Shape, kernel: [number, number], strides: [number, number], dilation: [number, number] = [1, 1]): [number, number] {
  const pad = padding(c);
  return [0, 1].map((i) => outputLength(x[i]!, kernel[i]!, pad, strides[i]!, dilation[i]!, 'the window')) as [number, number];
}

function bias(c: JsonObject, units: number): WeightDecl[] {
  return bool(c, 'use_bias', true) ? [{ name: 'bias', shape: [units] }] : [];
}

const dense: Rule = (c, inputs) => {
  const x = single(inputs);
  const d = x[x.length - 1];
  if (d === undefined) throw new RuleError('needs an input with at least one axis');
  const units = positiveInt(c, 'units');
  return { shape: [...x.slice(0, -1), units], weights: [{ name: 'kernel', shape: [d, units] }, ...bias(c, units)], activation: activationOf(c) };
};

const conv2d: Rule = (c, inputs) => {
  const x = image(inputs);
  channelsLast(c);
  const filters = positiveInt(c, 'filters');
  const k = intPair(c, 'kernel_size', 1);
  const [h, w] = window2d(c, x, k, intPair(c, 'strides', 1), intPair(c, 'dilation_rate', 1));
  return { shape: [h, w, filters], weights: [{ name: 'kernel', shape: [k[0], k[1], x[2], filters] }, ...bias(c, filters)], activation: activationOf(c) };
};

const depthwiseConv2d: Rule = (c, inputs) => {
  const x = image(inputs);
  channelsLast(c);
  const m = positiveInt(c, 'depth_multiplier', 1);
  const k = intPair(c, 'kernel_size', 1);
  const [h, w] = window2d(c, x, k, intPair(c, 'strides', 1), intPair(c, 'dilation_rate', 1));
  const out = x[2] * m;
  return { shape: [h, w, out], weights: [{ name: 'depthwise_kernel', shape: [k[0], k[1], x[2], m] }, ...bias(c, out)], activation: activationOf(c) };
};

const separableConv2d: Rule = (c, inputs) => {
  const x = image(inputs);
  channelsLast(c);
  const m = positiveInt(c, 'depth_multiplier', 1);
  const filters = positiveInt(c, 'filters');
  const k = intPair(c, 'kernel_size', 1);
  const [h, w] = window2d(c, x, k, intPair(c, 'strides', 1), intPair(c, 'dilation_rate', 1));
  return {
    shape: [h, w, filters],
    weights: [
      { name: 'depthwise_kernel', shape: [k[0], k[1], x[2], m] },
      { name: 'pointwise_kernel', shape: [1, 1, x[2] * m, filters] },
      ...bias(c, filters),
    ],
    activation: activationOf(c),
  };
};

const batchNorm: Rule = (c, inputs) => {
  const x = single(inputs);
  const raw = Array.isArray(c.axis) && c.axis.length === 1 ? c.axis[0] : (c.axis ?? -1);
  const rank = x.length + 1; // with the batch axis, as Keras counts
  const axis = typeof raw === 'number' && Number.isInteger(raw) ? (raw < 0 ? rank + raw : raw) : NaN;
  if (!(axis >= 1 && axis < rank)) throw new RuleError(`axis ${JSON.stringify(c.axis)} is not a feature axis of an input of shape ${formatShape(x)}`);
  const dim = [x[axis - 1]!];
  const weights: WeightDecl[] = [];
  if (bool(c, 'scale', true)) weights.push({ name: 'gamma', shape: dim });
  if (bool(c, 'center', true)) weights.push({ name: 'beta', shape: dim });
  weights.push({ name: 'moving_mean', shape: dim }, { name: 'moving_variance', shape: dim });
  return { shape: x, weights };
};

const pool2d: Rule = (c, inputs) => {
  const x = image(inputs);
  channelsLast(c);
  const size = intPair(c, 'pool_size', 2);
  const strides = c.strides === null || c.strides === undefined ? size : intPair(c, 'strides', 1);
  const [h, w] = window2d(c, x, size, strides);
  return { shape: [h, w, x[2]], weights: [] };
};

const globalPool2d: Rule = (c, inputs) => {
  const x = image(inputs);
  channelsLast(c);
  return { shape: [x[2]], weights: [] };
};

const flatten: Rule = (_c, inputs) => ({ shape: [elements(single(inputs))], weights: [], passthrough: true });

const reshape: Rule = (c, inputs) => {
  const x = single(inputs);
  const target = c.target_shape;
  if (!Array.isArray(target) || !target.every((d) => typeof d === 'number' && Number.isInteger(d) && (d >= 1 || d === -1))) {
    throw new RuleError(`target_shape must be a list of positive integers (one may be -1), got ${JSON.stringify(target ?? null)}`);
  }
  const dims = target as number[];
  const known = dims.filter((d) => d !== -1);
  const free = dims.length - known.length;
  const total = elements(x);
  const rest = total / elements(known);
  if (free > 1 || !Number.isInteger(rest) || (free === 0 && rest !== 1)) {
    throw new RuleError(`cannot reshape ${formatShape(x)} (${total} values) to ${formatShape(dims)}`);
  }
  return { shape: dims.map((d) => (d === -1 ? rest : d)), weights: [], passthrough: true };
};

const identity =
  (activation?: (c: JsonObject) => string): Rule =>
  (c, inputs) => ({ shape: single(inputs), weights: [], ...(activation ? { activation: activation(c) } : { passthrough: true }) });

const sameShapes = (inputs: Shape[], min: number, max = Infinity): Shape => {
  if (inputs.length < min || inputs.length > max) throw new RuleError(`takes ${max === min ? min : `at least ${min}`} inputs, got ${inputs.length}`);
  const first = inputs[0]!;
  const other = inputs.find((s) => formatShape(s) !== formatShape(first));
  if (other) throw new RuleError(`inputs must have the same shape, got ${inputs.map(formatShape).join(' and ')}`);
  return first;
};

const merge =
  (min: number, max?: number): Rule =>
  (_c, inputs) => ({ shape: sameShapes(inputs, min, max), weights: [] });

const concatenate: Rule = (c, inputs) => {
  if (inputs.length < 2) throw new RuleError(`takes at least 2 inputs, got ${inputs.length}`);
  const rank = inputs[0]!.length + 1;
  const raw = c.axis ?? -1;
  const axis = typeof raw === 'number' && Number.isInteger(raw) ? (raw < 0 ? rank + raw : raw) - 1 : NaN;
  if (!(axis >= 0 && axis < rank - 1)) throw new RuleError(`axis ${JSON.stringify(raw)} is not a feature axis`);
  const out = [...inputs[0]!];
  out[axis] = 0;
  for (const s of inputs) {
    const mismatch = s.length !== out.length || s.some((d, i) => i !== axis && d !== out[i]);
    if (mismatch) throw new RuleError(`inputs ${inputs.map(formatShape).join(' and ')} differ outside axis ${raw}`);
    out[axis] += s[axis]!;
  }
  return { shape: out, weights: [] };
};

/** ZeroPadding2D's `padding` / Cropping2D's `cropping`: n, (h, w) or ((top, bottom), (left, right)). */
function margins(v: Json | undefined, key: string, fallback: number): [[number, number], [number, number]] {
  const value = v ?? fallback;
  if (typeof value === 'number') return [[nonNegativeInt(value, key), value], [value, value]];
  if (Array.isArray(value) && value.length === 2) {
    const side = (s: Json) => (Array.isArray(s) && s.length === 2 ? [nonNegativeInt(s[0], key), nonNegativeInt(s[1], key)] : [nonNegativeInt(s, key), s as number]);
    return [side(value[0]!), side(value[1]!)] as [[number, number], [number, number]];
  }
  throw new RuleError(`${key} must be an integer, a pair or a pair of pairs, got ${JSON.stringify(value)}`);
}

const zeroPadding2d: Rule = (c, inputs) => {
  const [h, w, ch] = image(inputs);
  channelsLast(c);
  const [[t, b], [l, r]] = margins(c.padding, 'padding', 1);
  return { shape: [h + t + b, w + l + r, ch], weights: [] };
};

const cropping2d: Rule = (c, inputs) => {
  const [h, w, ch] = image(inputs);
  channelsLast(c);
  const [[t, b], [l, r]] = margins(c.cropping, 'cropping', 0);
  if (h - t - b < 1 || w - l - r < 1) throw new RuleError(`cropping ${JSON.stringify(c.cropping)} leaves nothing of a ${h}×${w} input`);
  return { shape: [h - t - b, w - l - r, ch], weights: [] };
};

const upSampling2d: Rule = (c, inputs) => {
  const [h, w, ch] = image(inputs);
  channelsLast(c);
  const [sh, sw] = intPair(c, 'size', 2);
  return { shape: [h * sh, w * sw, ch], weights: [] };
};

const permute: Rule = (c, inputs) => {
  const x = single(inputs);
  const dims = c.dims;
  const valid = Array.isArray(dims) && dims.length === x.length && [...dims].sort((a, b) => Number(a) - Number(b)).every((d, i) => d === i + 1);
  if (!valid) throw new RuleError(`dims must be a permutation of 1…${x.length}, got ${JSON.stringify(dims ?? null)}`);
  return { shape: (dims as number[]).map((d) => x[d - 1]!), weights: [] };
};

const reluActivation = (c: JsonObject) => (c.max_value === 6 ? 'relu6' : 'relu');

/** Every layer class the importer accepts. prepareQat decides later which of them QAT can quantize. */
export const LAYER_RULES: Readonly<Record<string, Rule>> = {
  Dense: dense,
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  BatchNormalization: batchNorm,
  MaxPooling2D: pool2d,
  AveragePooling2D: pool2d,
  GlobalAveragePooling2D: globalPool2d,
  GlobalMaxPooling2D: globalPool2d,
  Flatten: flatten,
  Reshape: reshape,
  Permute: permute,
  Dropout: identity(),
  GaussianNoise: identity(),
  GaussianDropout: identity(),
  AlphaDropout: identity(),
  Activation: identity(activationOf),
  ReLU: identity(reluActivation),
  Softmax: identity(() => 'softmax'),
  LeakyReLU: identity(() => 'leaky_relu'),
  ELU: identity(() => 'elu'),
  ThresholdedReLU: identity(() => 'thresholded_relu'),
  Rescaling: identity(() => 'rescaling'),
  Add: merge(2),
  Subtract: merge(2, 2),
  Multiply: merge(2),
  Average: merge(2),
  Maximum: merge(2),
  Minimum: merge(2),
  Concatenate: concatenate,
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  UpSampling2D: upSampling2d,
};
