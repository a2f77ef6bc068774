// Layers without weights: data movers that keep their input's int8 parameters (max-pool, flatten,
// reshape; dropout-like layers vanish at inference) and ops that compute new values and are
// requantized to the range the following QatQuantize observed (merges, average pools, activations).
import type { layers as tflLayers } from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';
import { activation as activationFn, activationName, SUPPORTED_ACTIVATIONS } from '../qat/activations.js';
import { dequantizeLinear, quantizeLinear } from '../intref/arith.js';
import { paramsOf } from './activationParams.js';
import { pair, tfPads } from './geometry.js';
import { activationShape, type GraphBuilder } from './graph.js';
import type { PoolGeometry, QuantInfo } from './types.js';

type Layer = tflLayers.Layer;

const cfg = (l: Layer) => l.getConfig() as Record<string, unknown>;

/** Identity at inference: their output is their input tensor. */
export const VANISHING = new Set(['Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);
export const DATA_MOVING = new Set(['MaxPooling2D', 'Flatten', 'Reshape']);

const MERGES: Record<string, 'add' | 'average' | 'maximum' | 'minimum'> = { Add: 'add', Average: 'average', Maximum: 'maximum', Minimum: 'minimum' };

/** The activation an activation layer applies, or null when it has no integer form here. */
export function layerActivation(layer: Layer): string | null {
  const c = layer.getClassName();
  const conf = cfg(layer);
  if (c === 'ReLU') {
    const max = conf.maxValue as number | null | undefined;
    return max === null || max === undefined ? 'relu' : max === 6 ? 'relu6' : null;
  }
  if (c === 'Softmax') return 'softmax';
  if (c === 'Activation') {
    const name = activationName(conf.activation);
    return name === 'softmax' || SUPPORTED_ACTIVATIONS.includes(name) ? name : null;
  }
  return null;
}

/** Whether a layer followed by a QatQuantize has an integer op (otherwise it stays a float island). */
export function isRequantizable(layer: Layer): boolean {
  const c = layer.getClassName();
  if (MERGES[c] || ['Concatenate', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D'].includes(c)) return true;
  return ['ReLU', 'Activation', 'Softmax'].includes(c) && layerActivation(layer) !== null;
}

function channelsLast(g: GraphBuilder, layer: Layer): boolean {
  const format = cfg(layer).dataFormat;
  if (format !== undefined && format !== 'channelsLast') {
    g.issue(layer.name, layer.getClassName(), 'channels-first data format is not supported');
    return false;
  }
  return true;
}

function poolGeometry(layer: Layer, inShape: number[]): PoolGeometry {
  const conf = cfg(layer);
  const poolSize = pair(conf.poolSize, 2);
  const strides = conf.strides === null || conf.strides === undefined ? poolSize : pair(conf.strides, 1);
  const padding = (conf.padding as 'valid' | 'same' | undefined) ?? 'valid';
  return { poolSize, strides, padding, pads: tfPads(inShape[1]!, inShape[2]!, poolSize, strides, [1, 1], padding) };
}

function outputShape(g: GraphBuilder, layer: Layer): number[] | null {
  const shape = activationShape(layer.outputShape as (number | null)[]);
  if (!shape) g.issue(layer.name, layer.getClassName(), `output shape ${JSON.stringify(layer.outputShape)} has unknown dimensions`);
  return shape;
}

/** Max-pool, flatten, reshape: the output keeps the input's scale and zero point. Returns the output tensor. */
export function convertDataMoving(g: GraphBuilder, layer: Layer, input: string): string | null {
  const c = layer.getClassName();
  const x = g.tensor(input);
  const shape = outputShape(g, layer);
  if (!shape || !channelsLast(g, layer)) return null;
  const base = { name: layer.name, layer: layer.name, inputs: [input], outputs: [layer.name] };
  g.activation(layer.name, shape, x.quant!, x.range);
  if (c === 'MaxPooling2D') g.op({ kind: 'maxpool', ...base, ...poolGeometry(layer, x.shape) });
  else if (c === 'Flatten') g.op({ kind: 'flatten', ...base });
  else g.op({ kind: 'reshape', ...base, shape });
  return layer.name;
}

/**
 * Emits the integer op of a requantizable layer writing the int8 tensor `outName` with `quant` (the
 * parameters of the QatQuantize after it). Returns false after recording an issue.
 */
export function convertRequantized(g: GraphBuilder, layer: Layer, inputs: string[], quant: QuantInfo, range: [number, number] | undefined, outName: string): boolean {
  const c = layer.getClassName();
  const shape = outputShape(g, layer);
  if (!shape || !channelsLast(g, layer)) return false;
  const ins = inputs.map((n) => g.tensor(n));
  const base = { name: layer.name, layer: layer.name, inputs, outputs: [outName] };
  const merge = MERGES[c];
  if (merge) {
    if (ins.some((t) => JSON.stringify(t.shape) !== JSON.stringify(shape))) {
      g.issue(layer.name, c, `inputs of shapes ${ins.map((t) => JSON.stringify(t.shape)).join(', ')} need broadcasting, which is not supported`);
      return false;
    }
    g.activation(outName, shape, quant, range);
    g.op({ kind: merge, ...base });
    return true;
  }
  if (c === 'Concatenate') {
    const raw = (cfg(layer).axis as number | undefined) ?? -1;
    const axis = raw < 0 ? shape.length + raw : raw;
    if (axis <= 0 || axis >= shape.length) {
      g.issue(layer.name, c, `concatenation axis ${raw} is not a feature axis`);
      return false;
    }
    g.activation(outName, shape, quant, range);
    g.op({ kind: 'concat', ...base, axis });
    return true;
  }
  if (c === 'AveragePooling2D' || c === 'GlobalAveragePooling2D' || c === 'GlobalMaxPooling2D') {
    if (ins[0]!.shape.length !== 4) {
      g.issue(layer.name, c, `needs an NHWC input, got shape ${JSON.stringify(ins[0]!.shape)}`);
      return false;
    }
    g.activation(outName, shape, quant, range);
    if (c === 'AveragePooling2D') g.op({ kind: 'avgpool', ...base, ...poolGeometry(layer, ins[0]!.shape) });
    else g.op({ kind: c === 'GlobalAveragePooling2D' ? 'globalavgpool' : 'globalmaxpool', ...base });
    return true;
  }
  const act = layerActivation(layer);
  if (act === 'softmax') {
    const raw = (cfg(layer).axis as number | number[] | undefined) ?? -1;
    const axisValue = Array.isArray(raw) ? (raw.length === 1 ? raw[0]! : NaN) : raw;
    const axis = axisValue < 0 ? shape.length + axisValue : axisValue;
    if (axis !== shape.length - 1) {
      g.issue(layer.name, c, `softmax over axis ${JSON.stringify(raw)} is not supported (only the last axis)`);
      return false;
    }
    g.activation(outName, shape, quant, range);
    g.op({ kind: 'softmax', ...base, axis });
    return true;
  }
  if (act !== null) {
    g.activation(outName, shape, quant, range);
    g.op({ kind: 'activation', ...base, activation: act, table: activationTable(act, ins[0]!.quant!, quant) });
    return true;
  }
  throw new Error(`internal: ${layer.name} (${c}) is not requantizable`);
}

/**
 * quantize(f(dequantize(q))) for all 256 int8 inputs, with f evaluated by the same TF.js function the QAT
 * model applies and the output rounded half to even as the runtime's QuantizeLinear.
 */
export function activationTable(name: string, input: QuantInfo, output: QuantInfo): Int8Array {
  const pin = paramsOf(input);
  const pout = paramsOf(output);
  const real = Float32Array.from({ length: 256 }, (_, i) => dequantizeLinear(i - 128, pin.scale, pin.zeroPoint));
  const y = tf.tidy(() => activationFn(name)(tf.tensor1d(real)).dataSync() as Float32Array);
  return Int8Array.from(y, (v) => quantizeLinear(v, pout.scale, pout.zeroPoint, pout.qmin, pout.qmax));
}
