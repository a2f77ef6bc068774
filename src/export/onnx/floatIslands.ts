// Layers kept in float (mixed precision, float fallback) as float ONNX operators. Only classes with an
// exact ONNX counterpart are written; anything else is refused by name (an approximation would make the
// file disagree with the model it claims to be).
import type { FloatLayerOp, IntModel } from '../../core/convert/types.js';
import { tfPads } from '../../core/convert/geometry.js';
import { activationName } from '../../core/qat/activations.js';
import { emitActivation, hasOnnxActivation } from './activations.js';
import type { OnnxGraph } from './graph.js';
import { onnxAxis, windowAttributes } from './layout.js';
import { convWeight, denseWeight } from './weights.js';

type Config = Record<string, unknown>;

const pair = (v: unknown, fallback: number): [number, number] => {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0] ?? fallback, a[1] ?? a[0] ?? fallback];
};

const act = (c: Config) => {
  const name = activationName(c.activation);
  return name === 'hardsigmoid' ? 'hard_sigmoid' : name;
};

/** Why the island cannot be written, or null. */
export function floatIslandProblem(model: IntModel, op: FloatLayerOp): string | null {
  const c = op.config;
  const inRank = model.tensors[op.inputs[0]!]!.shape.length;
  switch (op.className) {
    case 'LeakyReLU':
    case 'ELU':
      return null;
    case 'ReLU':
      return c.threshold || c.negativeSlope ? 'ReLU with a threshold or negative slope has no single ONNX operator here' : null;
    case 'Activation':
      return hasOnnxActivation(act(c)) ? null : `activation '${String(c.activation)}' has no ONNX operator here`;
    case 'Softmax': {
      const axis = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
      return axis.length === 1 && (axis[0] === -1 || axis[0] === inRank - 1) ? null : 'softmax over an axis other than the last';
    }
    case 'Dense':
      if (inRank !== 2) return `Dense on a rank-${inRank} input is not written as a float island`;
      return hasOnnxActivation(act(c)) ? null : `activation '${String(c.activation)}' has no ONNX operator here`;
    case 'Conv2D':
      if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') return 'channels-first data format';
      if ((c.groups as number | undefined) !== undefined && c.groups !== 1) return 'grouped convolution';
      return hasOnnxActivation(act(c)) ? null : `activation '${String(c.activation)}' has no ONNX operator here`;
    default:
      return `Keras layer ${op.className} kept in float has no ONNX translation in this exporter`;
  }
}

/** Emits the island on float inputs (rank-4 values NCHW); returns its float output. */
export function emitFloatIsland(g: OnnxGraph, model: IntModel, op: FloatLayerOp, inputs: string[]): string {
  const c = op.config;
  const base = op.name;
  const x = inputs[0]!;
  const weight = (i: number) => model.tensors[op.weights[i]!]!;
  switch (op.className) {
    case 'LeakyReLU':
      return g.op('LeakyRelu', [x], base, { alpha: { float: (c.alpha as number | undefined) ?? 0.3 } });
    case 'ELU':
      return g.op('Elu', [x], base, { alpha: { float: (c.alpha as number | undefined) ?? 1 } });
    case 'ReLU': {
      const max = c.maxValue as number | null | undefined;
      if (max === null || max === undefined) return g.op('Relu', [x], base);
      return g.op('Clip', [x, g.scalar(`${base}/min`, 0, 'float32'), g.scalar(`${base}/max`, max, 'float32')], base);
    }
    case 'Activation':
      return emitActivation(g, act(c), x, base);
    case 'Softmax': {
      const rank = model.tensors[op.inputs[0]!]!.shape.length;
      return g.op('Softmax', [x], base, { axis: onnxAxis(rank - 1, rank) });
    }
    case 'Dense': {
      const k = weight(0);
      const w = denseWeight(k.data as Float32Array, k.shape);
      const ins = [x, g.constant(`${base}/kernel`, w.dims, w.data)];
      if (op.weights[1]) ins.push(g.constant(`${base}/bias`, weight(1).shape, weight(1).data as Float32Array));
      return emitActivation(g, act(c), g.op('Gemm', ins, `${base}/linear`, { transB: 1 }), base);
    }
    case 'Conv2D': {
      const k = weight(0);
      const w = convWeight(k.data as Float32Array, k.shape);
      const [, h, wd] = model.tensors[op.inputs[0]!]!.shape as [number, number, number, number];
      const kernel = pair(c.kernelSize, 1);
      const strides = pair(c.strides, 1);
      const dilations = pair(c.dilationRate, 1);
      const pads = tfPads(h, wd, kernel, strides, dilations, (c.padding as 'valid' | 'same' | undefined) ?? 'valid');
      const ins = [x, g.constant(`${base}/kernel`, w.dims, w.data)];
      if (op.weights[1]) ins.push(g.constant(`${base}/bias`, weight(1).shape, weight(1).data as Float32Array));
      const z = g.op('Conv', ins, `${base}/linear`, windowAttributes({ kernel_shape: kernel, strides, dilations, pads }));
      return emitActivation(g, act(c), z, base);
    }
    default:
      throw new Error(`internal: float island ${op.className} was not refused`);
  }
}
