// Per-layer quantization error, for reports: SQNR (dB) of each quantized layer's weights (after BN
// folding) and of its output activation, the QAT model against the very same weights unquantized (so
// what QAT training changed in the weights does not count as quantization error), on sample inputs.
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import * as tf from '../tf.js';
import { QatLinear } from '../qat/layers/qatLinear.js';
import { weightAbsMax } from '../qat/layers/weights.js';
import { fakeQuant } from '../quant/fakeQuant.js';
import { qatLayers, setQatMode } from '../qat/mode.js';

export interface LayerError {
  name: string;
  weightBits: number;
  /** 10·log10(Σ w² / Σ (w − q(w))²) over the folded weights; Infinity when quantization is exact. */
  weightSqnrDb: number;
  /** Same for the layer's output activation: the model unquantized vs quantized, on the sample batch. */
  outputSqnrDb: number | null;
  params: number;
  /** Multiply-accumulates per sample. */
  macs: number;
}

export function sqnrDb(signal: tf.Tensor, approx: tf.Tensor): number {
  return tf.tidy(() => {
    const p = tf.sum(tf.square(signal)).dataSync()[0]!;
    const e = tf.sum(tf.square(tf.sub(signal, approx))).dataSync()[0]!;
    if (e === 0) return Number.POSITIVE_INFINITY;
    return 10 * Math.log10(p / e);
  });
}

/** The kernels the layer multiplies by, BN-folded, with the axis their per-channel scales run along. */
function foldedKernels(layer: QatLinear): { w: tf.Tensor; axis: number | null }[] {
  const a = layer.args;
  const w = layer.weightsByRole();
  const bn = a.batchNorm;
  const scale = bn ? tf.div(w.gamma!.read(), tf.sqrt(tf.add(w.movingVariance!.read(), bn.epsilon))) : null;
  const kernel = w.kernel.read();
  if (a.kind === 'dense') return [{ w: scale ? tf.mul(kernel, scale) : kernel, axis: a.perChannel ? 1 : null }];
  if (a.kind === 'conv2d') return [{ w: scale ? tf.mul(kernel, scale) : kernel, axis: a.perChannel ? 3 : null }];
  const [kh, kw, cin, mult] = kernel.shape as number[];
  const dwScale = a.kind === 'depthwise' && scale ? tf.reshape(scale, [cin!, mult!]) : null;
  const dw = { w: tf.reshape(dwScale ? tf.mul(kernel, dwScale) : kernel, [kh!, kw!, cin! * mult!]), axis: a.perChannel ? 2 : null };
  if (a.kind === 'depthwise') return [dw];
  const pw = w.pointwise!.read();
  return [dw, { w: scale ? tf.mul(pw, scale) : pw, axis: a.perChannel ? 3 : null }];
}

function macs(layer: QatLinear): number {
  const out = layer.outputShape as number[];
  const kernels = layer.weightsByRole();
  const k = kernels.kernel.read().shape;
  const spatial = out.length === 4 ? out[1]! * out[2]! : 1;
  if (layer.args.kind === 'dense') return k[0]! * k[1]!;
  if (layer.args.kind === 'conv2d') return spatial * k[0]! * k[1]! * k[2]! * k[3]!;
  const depthwise = spatial * k[0]! * k[1]! * k[2]! * k[3]!;
  if (layer.args.kind === 'depthwise') return depthwise;
  const pw = kernels.pointwise!.read().shape;
  return depthwise + spatial * pw[2]! * pw[3]!;
}

export function layerErrors(qatModel: LayersModel, sample: tf.Tensor): LayerError[] {
  const linear = qatModel.layers.filter((l): l is QatLinear => l instanceof QatLinear);
  const outputs = tf.tidy(() => {
    const probe = tfl.model({ inputs: qatModel.inputs, outputs: linear.map((l) => l.output as SymbolicTensor) });
    const run = () => [probe.predict(sample)].flat() as tf.Tensor[];
    const quantized = run();
    const saved = qatLayers(qatModel).map((l) => [l, { ...l.mode }] as const);
    setQatMode(qatModel, { activationQuantization: false, weightQuantization: false });
    try {
      const float = run();
      return linear.map((_, i) => sqnrDb(float[i]!, quantized[i]!));
    } finally {
      for (const [layer, mode] of saved) layer.mode = mode;
    }
  });
  return linear.map((layer, i) => {
    const weightSqnrDb = tf.tidy(() => {
      const kernels = foldedKernels(layer);
      const p = kernels.reduce((s, k) => s + tf.sum(tf.square(k.w)).dataSync()[0]!, 0);
      const e = kernels.reduce((s, k) => {
        const absMax = weightAbsMax(k.w, k.axis);
        const q = fakeQuant(k.w, tf.neg(absMax), absMax, { bits: layer.args.weightBits, narrowRange: true, axis: k.axis ?? undefined });
        return s + tf.sum(tf.square(tf.sub(k.w, q))).dataSync()[0]!;
      }, 0);
      return e === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(p / e);
    });
    return {
      name: layer.name,
      weightBits: layer.args.weightBits,
      weightSqnrDb,
      outputSqnrDb: outputs[i] ?? null,
      params: layer.trainableWeights.reduce((s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1), 0),
      macs: macs(layer),
    };
  });
}
