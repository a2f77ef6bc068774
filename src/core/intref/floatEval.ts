// A float evaluation of the deployed math, for debugging: the IntModel's integers dequantized (weights
// q·scale, biases q·bias scale), float32 TF.js ops, fused activations as real clamps. With
// `quantizeActivations` (default) every int8 tensor is snapped to its grid (round half to even, as the
// runtime's QuantizeLinear): a re-simulation from the description alone. Without it: float activations,
// int8 weights — how much the activation quantization costs. Comparing this against the QAT model and
// against the integer reference tells a conversion bug (float eval ≠ QAT) from rounding (int ≠ float eval).
import type { IntModel, IntOp, IntTensor } from '../convert/types.js';
import * as tf from '../tf.js';
import { activation as activationFn } from '../qat/activations.js';
import { batchShape, runFloatLayer } from './floatLayer.js';
import { checkFeeds, type EvalResult } from './run.js';

export interface FloatEvalOptions {
  quantizeActivations?: boolean;
  trace?: boolean;
}

/** Dequantized constant: (q - zp) · scale per channel of its axis. */
export function dequantizedConstant(t: IntTensor): tf.Tensor {
  return tf.tidy(() => {
    const q = tf.tensor(Float32Array.from(t.data as Int8Array | Int32Array), t.shape, 'float32');
    const quant = t.quant!;
    const shape = t.shape.map((d, i) => (i === quant.axis ? d : 1));
    const scale = quant.axis === null ? tf.scalar(quant.scale[0]!) : tf.tensor(quant.scale, shape);
    const zp = quant.axis === null ? tf.scalar(quant.zeroPoint[0]!) : tf.tensor(quant.zeroPoint, shape);
    return tf.mul(tf.sub(q, zp), scale);
  });
}

/** x snapped to an int8 grid and back: (clip(round(x / s) + zp, qmin, qmax) - zp) · s; tf.round is half to even. */
function snap(x: tf.Tensor, t: IntTensor): tf.Tensor {
  const q = t.quant!;
  const s = q.scale[0]!;
  const zp = q.zeroPoint[0]!;
  return tf.tidy(() => tf.mul(tf.sub(tf.clipByValue(tf.add(tf.round(tf.div(x, s)), zp), q.qmin, q.qmax), zp), s));
}

export function evaluateFloatModel(model: IntModel, inputs: Float32Array[], batch: number, options: FloatEvalOptions = {}): EvalResult {
  checkFeeds(model, inputs, batch);
  const quantizeActs = options.quantizeActivations ?? true;
  const env = new Map<string, tf.Tensor>();
  const constants = new Map<string, tf.Tensor>();
  const constant = (name: string) => {
    let c = constants.get(name);
    if (!c) constants.set(name, (c = dequantizedConstant(model.tensors[name]!)));
    return c;
  };
  try {
    model.inputs.forEach((name, i) => env.set(name, tf.tensor(inputs[i]!, batchShape(model.tensors[name]!.shape, batch), 'float32')));
    for (const op of model.ops) {
      const y = tf.tidy(() => {
        const ins = op.inputs.filter((n) => !model.tensors[n]!.data).map((n) => env.get(n)!);
        const out = model.tensors[op.outputs[0]!]!;
        const value = floatOp(model, op, ins, constant, batch);
        return out.dtype === 'int8' && quantizeActs ? snap(value, out) : value;
      });
      env.set(op.outputs[0]!, y);
    }
    const outputs = model.outputs.map((n) => Float32Array.from(env.get(n)!.dataSync() as Float32Array));
    if (!options.trace) return { outputs };
    const tensors = Object.fromEntries([...env].map(([n, t]) => [n, Float32Array.from(t.dataSync() as Float32Array)]));
    return { outputs, tensors };
  } finally {
    tf.dispose([...env.values(), ...constants.values()]);
  }
}

export function runFloatModel(model: IntModel, x: Float32Array, batch: number, options: FloatEvalOptions = {}): Float32Array {
  return evaluateFloatModel(model, [x], batch, options).outputs[0]!;
}

type Constant = (name: string) => tf.Tensor;

function fused(z: tf.Tensor, act: 'linear' | 'relu' | 'relu6'): tf.Tensor {
  return act === 'relu' ? tf.relu(z) : act === 'relu6' ? tf.clipByValue(z, 0, 6) : z;
}

function floatOp(model: IntModel, op: IntOp, ins: tf.Tensor[], constant: Constant, batch: number): tf.Tensor {
  const x = ins[0]!;
  const bias = (z: tf.Tensor) => (op.inputs[2] ? tf.add(z, constant(op.inputs[2])) : z);
  switch (op.kind) {
    case 'quantize':
    case 'dequantize':
    case 'flatten':
      return op.kind === 'flatten' ? tf.reshape(x, [batch, -1]) : tf.clone(x);
    case 'reshape':
      return tf.reshape(x, batchShape(op.shape, batch));
    case 'dense': {
      const w = constant(op.inputs[1]!);
      const flat = tf.reshape(x, [-1, w.shape[0]!]);
      const z = tf.reshape(bias(tf.matMul(flat, w)), batchShape(model.tensors[op.outputs[0]!]!.shape, batch));
      return fused(z, op.activation);
    }
    case 'conv2d': {
      const w = constant(op.inputs[1]!) as tf.Tensor4D;
      const z = tf.conv2d(x as tf.Tensor4D, w, op.strides, explicit(op.pads), 'NHWC', op.dilations);
      return fused(bias(z), op.activation);
    }
    case 'depthwise': {
      const [kh, kw, c] = model.tensors[op.inputs[1]!]!.shape as [number, number, number];
      const w = tf.reshape(constant(op.inputs[1]!), [kh, kw, c / op.depthMultiplier, op.depthMultiplier]) as tf.Tensor4D;
      const z = tf.depthwiseConv2d(x as tf.Tensor4D, w, op.strides, explicit(op.pads), 'NHWC', op.dilations);
      return fused(bias(z), op.activation);
    }
    case 'maxpool':
      return tf.maxPool(x as tf.Tensor4D, op.poolSize, op.strides, op.padding);
    case 'avgpool':
      return tf.avgPool(x as tf.Tensor4D, op.poolSize, op.strides, op.padding);
    case 'globalavgpool':
      return tf.mean(x, [1, 2]);
    case 'globalmaxpool':
      return tf.max(x, [1, 2]);
    case 'add':
      return tf.addN(ins);
    case 'average':
      return tf.div(tf.addN(ins), ins.length);
    case 'maximum':
      return ins.reduce((a, b) => tf.maximum(a, b));
    case 'minimum':
      return ins.reduce((a, b) => tf.minimum(a, b));
    case 'concat':
      return tf.concat(ins, op.axis);
    case 'softmax':
      return tf.softmax(x);
    case 'activation':
      return activationFn(op.activation)(x);
    case 'float':
      return runFloatLayer(model, op, ins);
    default: {
      const never: never = op;
      throw new Error(`float eval: unknown op ${JSON.stringify((never as IntOp).kind)}`);
    }
  }
}

/** TF.js explicit padding from [top, left, bottom, right]. */
function explicit(p: [number, number, number, number]): [[number, number], [number, number], [number, number], [number, number]] {
  return [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]];
}
