// A QatLinear layer (Dense / Conv2D / DepthwiseConv2D / SeparableConv2D with its folded BN and fused
// activation) as integer ops: int8 weights, int32 bias, the activation as an output clamp. Separable
// convolutions become a depthwise op, an int8 intermediate tensor (the range QAT observed for it) and a
// 1×1 convolution that carries the bias and the folded BN. LSQ layers deploy their learned steps as the
// weight scales.
import type { LayerVariable } from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';
import type { QatLinear } from '../qat/layers/qatLinear.js';
import { intermediateSpec } from '../qat/layers/ranges.js';
import { activationParams, fusedClamp, INT8_ACTIVATION, isFusable } from './activationParams.js';
import { pair, type Pads, tfPads } from './geometry.js';
import { activationShape, type GraphBuilder } from './graph.js';
import type { ConvGeometry, FusedActivation, QuantInfo } from './types.js';
import { foldedWeights, type Int8Weights, quantizeBias, quantizeWeights as quantizeMinMax, quantizeWeightsLsq } from './weights.js';

/** Reasons the layer cannot be converted, checked before any conversion so all are reported at once. */
export function linearProblems(layer: QatLinear): string[] {
  const a = layer.args;
  const w = layer.weightsByRole();
  const problems: string[] = [];
  if (!isFusable(a.activation)) {
    problems.push(`activation '${a.activation}' runs on the accumulator before the output quantizer; int8 kernels only fuse relu/relu6 (keep this layer in float)`);
  }
  const out = activationParams(w.out, a.output);
  if ('problem' in out) problems.push(out.problem);
  if (a.kind === 'separable') {
    const mid = activationParams(w.mid ?? null, intermediateSpec(a.output), 'depthwise output');
    if ('problem' in mid) problems.push(mid.problem);
  }
  if (a.weightBits > 8) problems.push(`${a.weightBits}-bit weights do not fit in int8`);
  return problems;
}

/** Emits the layer's ops; returns the int8 output tensor. Call only when linearProblems() is empty. */
export function convertLinear(g: GraphBuilder, layer: QatLinear, input: string): string {
  const a = layer.args;
  const w = layer.weightsByRole();
  const x = g.tensor(input);
  const out = activationParams(w.out, a.output);
  if ('problem' in out) throw new Error(`internal: ${layer.name}: ${out.problem}`);
  const outShape = activationShape(layer.outputShape as (number | null)[]);
  if (!outShape) throw new Error(`internal: ${layer.name}: unknown output shape`);
  const act = a.activation as FusedActivation;
  const name = layer.name;
  // The weight quantizer the layer trained with: max|w| fake-quant, or LSQ on its learned steps.
  const quantizeWeights = (t: tf.Tensor, step: LayerVariable | undefined, label: string): Int8Weights => {
    if (a.weightQuantizer !== 'lsq') return quantizeMinMax(t, a.perChannel, a.weightBits, label);
    if (!step) throw new Error(`internal: ${label}: LSQ weights without a step variable`);
    return quantizeWeightsLsq(t, step.read().dataSync(), a.perChannel, a.weightBits, label);
  };
  tf.tidy(() => {
    const folded = foldedWeights(layer);
    const bias = folded.bias ? (folded.bias.dataSync() as Float32Array) : null;
    if (a.kind === 'dense') {
      const wq = quantizeWeights(folded.kernel, w.kernelStep, `${name}/kernel`);
      const ins = weighted(g, name, input, wq, bias);
      g.activation(name, outShape, out.quant, out.range);
      g.op({ kind: 'dense', name, layer: name, inputs: ins, outputs: [name], activation: act, clamp: fusedClamp(act, out.quant) });
      return;
    }
    const geometry = convGeometry(layer, x.shape);
    if (a.kind === 'conv2d') {
      const wq = quantizeWeights(folded.kernel, w.kernelStep, `${name}/kernel`);
      const ins = weighted(g, name, input, wq, bias);
      g.activation(name, outShape, out.quant, out.range);
      g.op({ kind: 'conv2d', name, layer: name, inputs: ins, outputs: [name], activation: act, clamp: fusedClamp(act, out.quant), ...geometry });
      return;
    }
    const depthMultiplier = a.depthMultiplier ?? 1;
    const dwq = quantizeWeights(folded.kernel, w.kernelStep, `${name}/depthwise_kernel`);
    if (a.kind === 'depthwise') {
      const ins = weighted(g, name, input, dwq, bias);
      g.activation(name, outShape, out.quant, out.range);
      g.op({ kind: 'depthwise', name, layer: name, inputs: ins, outputs: [name], activation: act, clamp: fusedClamp(act, out.quant), depthMultiplier, ...geometry });
      return;
    }
    // Separable: the depthwise output is its own int8 tensor (QAT fake-quantized it on the 'mid' range).
    const mid = activationParams(w.mid!, intermediateSpec(a.output), 'depthwise output');
    if ('problem' in mid) throw new Error(`internal: ${name}: ${mid.problem}`);
    const midName = `${name}/depthwise`;
    const midShape = [...outShape.slice(0, -1), dwq.shape[2]!];
    const dwIns = weighted(g, midName, input, dwq, null);
    g.activation(midName, midShape, mid.quant, mid.range);
    g.op({ kind: 'depthwise', name: midName, layer: name, inputs: dwIns, outputs: [midName], activation: 'linear', clamp: [INT8_ACTIVATION.qmin, INT8_ACTIVATION.qmax], depthMultiplier, ...geometry });
    const pwq = quantizeWeights(folded.pointwise!, w.pointwiseStep, `${name}/pointwise_kernel`);
    const pwName = `${name}/pointwise`;
    const pwIns = weighted(g, pwName, midName, pwq, bias);
    g.activation(name, outShape, out.quant, out.range);
    const pointGeometry: ConvGeometry = { kernelSize: [1, 1], strides: [1, 1], dilations: [1, 1], padding: 'valid', pads: [0, 0, 0, 0] };
    g.op({ kind: 'conv2d', name: pwName, layer: name, inputs: pwIns, outputs: [name], activation: act, clamp: fusedClamp(act, out.quant), ...pointGeometry });
  });
  return name;
}

/** Adds the weight (and bias) constants of one op; returns the op's inputs [x, weight, bias?]. */
function weighted(g: GraphBuilder, prefix: string, input: string, wq: Int8Weights, bias: Float32Array | null): string[] {
  const inQuant = g.tensor(input).quant as QuantInfo;
  const axis = wq.shape.length - 1;
  const weightName = g.add({
    name: `${prefix}/weight`,
    shape: wq.shape,
    dtype: 'int8',
    data: wq.data,
    quant: { scale: wq.scales, zeroPoint: wq.scales.map(() => 0), axis: wq.perChannel ? axis : null, qmin: -wq.qmax, qmax: wq.qmax },
  });
  if (!bias) return [input, weightName];
  const bq = quantizeBias(bias, inQuant.scale[0]!, wq.scales, `${prefix}/bias`);
  const biasName = g.add({
    name: `${prefix}/bias`,
    shape: [bias.length],
    dtype: 'int32',
    data: bq.data,
    quant: { scale: bq.scales, zeroPoint: bq.scales.map(() => 0), axis: wq.perChannel ? 0 : null, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 },
  });
  return [input, weightName, biasName];
}

function convGeometry(layer: QatLinear, inShape: number[]): ConvGeometry {
  const a = layer.args;
  const kernelSize = pair(a.kernelSize, 1);
  const strides = pair(a.strides, 1);
  const dilations = pair(a.dilationRate, 1);
  const padding = a.padding ?? 'valid';
  const pads: Pads = tfPads(inShape[1]!, inShape[2]!, kernelSize, strides, dilations, padding);
  return { kernelSize, strides, dilations, padding, pads };
}
