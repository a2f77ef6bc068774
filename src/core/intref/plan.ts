// Turns an IntModel into a list of executable integer steps, once per model (cached): weights
// re-laid out for the kernels, multipliers computed in float32 as the runtime does.
import type { IntModel, IntOp, IntTensor } from '../convert/types.js';
import * as tf from '../tf.js';
import { requantMultiplier } from './arith.js';
import { batchShape, runFloatLayer } from './floatLayer.js';
import { concatInt, type Grid, dequantizeInt, lookupInt, mergeInt, quantizeInt, softmaxInt } from './kernels/elementwise.js';
import { type ConvGeometryPlan, conv2dInt, type DensePlan, denseInt, depthwiseInt, type Requant } from './kernels/linear.js';
import { avgPoolInt, globalPoolInt, maxPoolInt, type PoolPlan } from './kernels/pool.js';

export type Value = Int8Array | Float32Array;
export type Env = Map<string, Value>;
export type Step = (env: Env, batch: number) => void;

const plans = new WeakMap<IntModel, Step[]>();

export function compile(model: IntModel): Step[] {
  let steps = plans.get(model);
  if (!steps) {
    steps = model.ops.map((op) => step(model, op));
    plans.set(model, steps);
  }
  return steps;
}

function grid(t: IntTensor): Grid {
  if (t.dtype !== 'int8' || !t.quant || t.quant.scale.length !== 1) throw new Error(`intref: ${t.name} is not a per-tensor int8 activation`);
  return { scale: t.quant.scale[0]!, zeroPoint: t.quant.zeroPoint[0]! };
}

const perSample = (t: IntTensor) => t.shape.slice(1).reduce((a, b) => a * b, 1);

function int8(env: Env, name: string): Int8Array {
  const v = env.get(name);
  if (!(v instanceof Int8Array)) throw new Error(`intref: tensor ${name} is not an int8 value here`);
  return v;
}

function float32(env: Env, name: string): Float32Array {
  const v = env.get(name);
  if (!(v instanceof Float32Array)) throw new Error(`intref: tensor ${name} is not a float32 value here`);
  return v;
}

function requantPlan(model: IntModel, op: IntOp & { clamp: [number, number] }, cout: number): Requant {
  const x = model.tensors[op.inputs[0]!]!;
  const w = model.tensors[op.inputs[1]!]!;
  const y = model.tensors[op.outputs[0]!]!;
  const b = op.inputs[2] ? model.tensors[op.inputs[2]]! : null;
  const sx = grid(x).scale;
  const sy = grid(y).scale;
  const ws = w.quant!.scale;
  const multipliers = Float32Array.from({ length: cout }, (_, c) => requantMultiplier(sx, ws[ws.length === 1 ? 0 : c]!, sy));
  const bias = b ? Int32Array.from(b.data as Int32Array) : new Int32Array(cout);
  return { multipliers, bias, zIn: grid(x).zeroPoint, zOut: grid(y).zeroPoint, lo: op.clamp[0], hi: op.clamp[1] };
}

function convGeometry(x: IntTensor, y: IntTensor, op: { kernelSize: [number, number]; strides: [number, number]; dilations: [number, number]; pads: number[] }): ConvGeometryPlan {
  const [, inH, inW, cin] = x.shape as [number, number, number, number];
  const [, outH, outW, cout] = y.shape as [number, number, number, number];
  return { inH, inW, cin, outH, outW, cout, kh: op.kernelSize[0], kw: op.kernelSize[1], sh: op.strides[0], sw: op.strides[1], dh: op.dilations[0], dw: op.dilations[1], padTop: op.pads[0]!, padLeft: op.pads[1]! };
}

function poolPlan(x: IntTensor, y: IntTensor, op: { poolSize: [number, number]; strides: [number, number]; pads: number[] }): PoolPlan {
  const [, inH, inW, c] = x.shape as [number, number, number, number];
  const [, outH, outW] = y.shape as [number, number, number, number];
  return { inH, inW, c, outH, outW, ph: op.poolSize[0], pw: op.poolSize[1], sh: op.strides[0], sw: op.strides[1], padTop: op.pads[0]!, padLeft: op.pads[1]! };
}

function step(model: IntModel, op: IntOp): Step {
  const t = (n: string) => model.tensors[n]!;
  const x = t(op.inputs[0]!);
  const y = t(op.outputs[0]!);
  const out = op.outputs[0]!;
  const rescale = () => ({ sIn: grid(x).scale, zIn: grid(x).zeroPoint, sOut: grid(y).scale, zOut: grid(y).zeroPoint });
  switch (op.kind) {
    case 'quantize':
      return (env) => env.set(out, quantizeInt(float32(env, op.inputs[0]!), grid(y)));
    case 'dequantize':
      return (env) => env.set(out, dequantizeInt(int8(env, op.inputs[0]!), grid(x)));
    case 'dense': {
      const w = t(op.inputs[1]!);
      const [cin, cout] = w.shape as [number, number];
      const data = w.data as Int8Array;
      const weights = new Float64Array(cin * cout);
      for (let k = 0; k < cin; k++) for (let o = 0; o < cout; o++) weights[o * cin + k] = data[k * cout + o]!;
      const plan: DensePlan = { ...requantPlan(model, op, cout), cin, cout, weights };
      return (env, batch) => env.set(out, denseInt(int8(env, op.inputs[0]!), (batch * perSample(x)) / cin, plan));
    }
    case 'conv2d': {
      const w = t(op.inputs[1]!);
      const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
      const data = w.data as Int8Array;
      const K = kh * kw * cin;
      // HWIO → OHWI.
      const weights = new Float64Array(K * cout);
      for (let k = 0; k < K; k++) for (let o = 0; o < cout; o++) weights[o * K + k] = data[k * cout + o]!;
      const plan = { ...requantPlan(model, op, cout), ...convGeometry(x, y, op), weights };
      return (env, batch) => env.set(out, conv2dInt(int8(env, op.inputs[0]!), batch, plan));
    }
    case 'depthwise': {
      const w = t(op.inputs[1]!);
      const cout = w.shape[2]!;
      const plan = { ...requantPlan(model, op, cout), ...convGeometry(x, y, op), weights: Float64Array.from(w.data as Int8Array), multiplier: op.depthMultiplier };
      return (env, batch) => env.set(out, depthwiseInt(int8(env, op.inputs[0]!), batch, plan));
    }
    case 'maxpool': {
      const plan = poolPlan(x, y, op);
      return (env, batch) => env.set(out, maxPoolInt(int8(env, op.inputs[0]!), batch, plan));
    }
    case 'avgpool': {
      const plan = poolPlan(x, y, op);
      return (env, batch) => env.set(out, avgPoolInt(int8(env, op.inputs[0]!), batch, plan, rescale()));
    }
    case 'globalavgpool':
    case 'globalmaxpool': {
      const [, h, w, c] = x.shape as [number, number, number, number];
      const kind = op.kind === 'globalavgpool' ? 'avg' : 'max';
      return (env, batch) => env.set(out, globalPoolInt(int8(env, op.inputs[0]!), batch, h * w, c, rescale(), kind));
    }
    case 'flatten':
    case 'reshape':
      return (env) => env.set(out, int8(env, op.inputs[0]!));
    case 'add':
    case 'average':
    case 'maximum':
    case 'minimum': {
      const grids = op.inputs.map((n) => grid(t(n)));
      return (env) => env.set(out, mergeInt(op.inputs.map((n) => int8(env, n)), grids, grid(y), op.kind));
    }
    case 'concat': {
      const grids = op.inputs.map((n) => grid(t(n)));
      const inner = op.inputs.map((n) => t(n).shape.slice(op.axis).reduce((a, b) => a * b, 1));
      const outerPerSample = y.shape.slice(1, op.axis).reduce((a, b) => a * b, 1);
      return (env, batch) => env.set(out, concatInt(op.inputs.map((n) => int8(env, n)), grids, grid(y), batch * outerPerSample, inner));
    }
    case 'softmax': {
      const width = y.shape[y.shape.length - 1]!;
      return (env) => env.set(out, softmaxInt(int8(env, op.inputs[0]!), width, grid(x), grid(y)));
    }
    case 'activation':
      return (env) => env.set(out, lookupInt(int8(env, op.inputs[0]!), op.table));
    case 'float':
      return (env, batch) => {
        const inputs = op.inputs.map((n) => tf.tensor(float32(env, n), batchShape(t(n).shape, batch), 'float32'));
        const result = runFloatLayer(model, op, inputs);
        env.set(out, Float32Array.from(result.dataSync() as Float32Array));
        tf.dispose([...inputs, result]);
      };
    default: {
      const never: never = op;
      throw new Error(`intref: unknown op ${JSON.stringify((never as IntOp).kind)}`);
    }
  }
}
