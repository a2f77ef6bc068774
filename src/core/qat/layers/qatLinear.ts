// The QAT form of a Dense / Conv2D / DepthwiseConv2D / SeparableConv2D layer, with the BatchNormalization
// and activation that follow it fused in, as an int8 runtime executes them: weights fake-quantized
// after BN folding, the output fake-quantized after the activation.
//
// BN folding follows PyTorch's ConvBn "approximate" scheme (after Jacob et al. 2018, §3.2): the weight
// is scaled by gamma / sqrt(running_var + eps) before fake-quant, the conv output is unscaled again,
// and BN then normalises with the batch statistics while training (updating the running ones) or with
// the running statistics once frozen and at inference — where the result equals the folded int8 layer.
//
// With weightQuantizer 'lsq' the folded weights are quantized on trainable steps (one per output
// channel, or one per tensor), layer weights initialised by initLsqSteps(); with an 'lsq' output spec
// the output (and a separable layer's depthwise output) has a trainable scalar step (lsqActivation.ts).
import { initializers, layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import * as tf from '../../tf.js';
import { activation } from '../activations.js';
import { batchNormTraining } from './batchNormTraining.js';
import { convOutputLength, type Padding, pair } from '../shapes.js';
import { type ActivationQuantSpec, DEFAULT_MODE, intermediateSpec, isLsq, observeAndQuantize, type QatModeFlags, type RangeVars } from './ranges.js';
import { initialWeightStep, quantizeWeights, quantizeWeightsLsq } from './weights.js';

export type LinearKind = 'dense' | 'conv2d' | 'depthwise' | 'separable';

export interface QatLinearArgs {
  name: string;
  kind: LinearKind;
  /** Dense units or conv filters (output channels of the pointwise conv for separable). */
  units?: number;
  kernelSize?: number | number[];
  strides?: number | number[];
  padding?: Padding;
  dilationRate?: number | number[];
  depthMultiplier?: number;
  useBias: boolean;
  /** Keras activation applied after BN, before the output quantizer. */
  activation: string;
  batchNorm?: { epsilon: number; momentum: number } | null;
  weightBits: number;
  perChannel: boolean;
  /** 'lsq': learned weight steps; absent (older configs) or 'minmax': max|w| of the folded weights. */
  weightQuantizer?: 'minmax' | 'lsq';
  output: ActivationQuantSpec;
}

interface Weights {
  kernel: LayerVariable;
  pointwise?: LayerVariable;
  bias?: LayerVariable;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  movingMean?: LayerVariable;
  movingVariance?: LayerVariable;
  out: RangeVars;
  mid?: RangeVars;
  /** LSQ weight steps: of the kernel (depthwise kernel for depthwise/separable) and the pointwise kernel. */
  kernelStep?: LayerVariable;
  pointwiseStep?: LayerVariable;
}

/** Folded kernels in the layout they are quantized in (the output-channel axis last). */
interface FoldedKernels {
  /** dense [cin, cout]; conv2d [kh, kw, cin, cout]; depthwise/separable [kh, kw, cin * mult]. */
  kernel: tf.Tensor;
  pointwise: tf.Tensor | null;
}

export class QatLinear extends layers.Layer {
  static className = 'QatLinear';
  readonly args: QatLinearArgs;
  mode: QatModeFlags = { ...DEFAULT_MODE };
  private w!: Weights;

  constructor(args: QatLinearArgs) {
    super({ name: args.name });
    // A saved config turns undefined into null; read it back as undefined.
    this.args = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== null)) as unknown as QatLinearArgs;
    this.args.batchNorm ??= null;
  }

  private outChannels(inputChannels: number): number {
    const a = this.args;
    if (a.kind === 'depthwise') return inputChannels * (a.depthMultiplier ?? 1);
    return a.units!;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const cin = shape[shape.length - 1]!;
    const a = this.args;
    const [kh, kw] = pair(a.kernelSize, 1);
    const mult = a.depthMultiplier ?? 1;
    const zeros = 'zeros';
    const add = (name: string, s: number[], trainable: boolean, init: 'zeros' | 'ones' = zeros) =>
      this.addWeight(name, s, 'float32', tf_init(init), undefined, trainable);
    const cout = this.outChannels(cin);
    const kernelShape =
      a.kind === 'dense' ? [cin, cout] : a.kind === 'conv2d' ? [kh, kw, cin, cout] : [kh, kw, cin, mult];
    const w: Partial<Weights> = { kernel: add(a.kind === 'dense' || a.kind === 'conv2d' ? 'kernel' : 'depthwise_kernel', kernelShape, true) };
    if (a.kind === 'separable') w.pointwise = add('pointwise_kernel', [1, 1, cin * mult, cout], true);
    if (a.useBias) w.bias = add('bias', [cout], true);
    if (a.batchNorm) {
      w.gamma = add('bn_gamma', [cout], true, 'ones');
      w.beta = add('bn_beta', [cout], true);
      w.movingMean = add('bn_moving_mean', [cout], false);
      w.movingVariance = add('bn_moving_variance', [cout], false, 'ones');
    }
    const range = (prefix: string): RangeVars => ({ min: add(`${prefix}_min`, [], false), max: add(`${prefix}_max`, [], false), seen: add(`${prefix}_seen`, [], false) });
    if (a.kind === 'separable') w.mid = range('depthwise_act');
    w.out = range('act');
    // LSQ variables come after all the others, so a minmax/EMA layer's weight list is unchanged.
    if (a.weightQuantizer === 'lsq') {
      const kernelChannels = a.kind === 'dense' || a.kind === 'conv2d' ? cout : cin * mult;
      w.kernelStep = add(a.kind === 'dense' || a.kind === 'conv2d' ? 'kernel_step' : 'depthwise_kernel_step', a.perChannel ? [kernelChannels] : [], true);
      if (a.kind === 'separable') w.pointwiseStep = add('pointwise_kernel_step', a.perChannel ? [cout] : [], true);
    }
    if (isLsq(a.output)) {
      if (w.mid) w.mid.step = add('depthwise_act_step', [], true);
      w.out.step = add('act_step', [], true);
    }
    this.w = w as Weights;
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const a = this.args;
    const cin = shape[shape.length - 1]!;
    if (a.kind === 'dense') return [...shape.slice(0, -1), a.units!];
    const [kh, kw] = pair(a.kernelSize, 1);
    const [sh, sw] = pair(a.strides, 1);
    const [dh, dw] = pair(a.dilationRate, 1);
    const pad = a.padding ?? 'valid';
    return [shape[0]!, convOutputLength(shape[1]!, kh, pad, sh, dh), convOutputLength(shape[2]!, kw, pad, sw, dw), this.outChannels(cin)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const training = kwargs.training === true;
    return tf.tidy(() => {
      const a = this.args;
      const bnScale = this.bnScale();
      let z = this.linear(x, bnScale, training);
      if (bnScale) z = this.batchNorm(z, bnScale, training);
      else if (this.w.bias) z = tf.add(z, this.w.bias.read());
      z = activation(a.activation)(z);
      return observeAndQuantize(this.mode, this.w.out, z, a.output, training, `${this.name}/output`);
    });
  }

  /** gamma / sqrt(running_var + eps): the per-channel factor BN folding multiplies the weights by. */
  private bnScale(): tf.Tensor | null {
    const bn = this.args.batchNorm;
    if (!bn) return null;
    return tf.div(this.w.gamma!.read(), tf.sqrt(tf.add(this.w.movingVariance!.read(), bn.epsilon)));
  }

  /**
   * BN-scaled kernels, flattened to the layout they are quantized in. The same ops (and so the same
   * float32 values) as convert/weights.ts foldedWeights.
   */
  private folded(bnScale: tf.Tensor | null): FoldedKernels {
    const a = this.args;
    const kernel = this.w.kernel.read();
    if (a.kind === 'dense' || a.kind === 'conv2d') return { kernel: bnScale ? tf.mul(kernel, bnScale) : kernel, pointwise: null };
    // Depthwise kernels are [kh, kw, cin, mult]; output channel c * mult + m is one quantization channel.
    const [kh, kw, cin, mult] = kernel.shape as [number, number, number, number];
    const dwScale = a.kind === 'depthwise' && bnScale ? tf.reshape(bnScale, [cin, mult]) : null;
    const flatKernel = tf.reshape(dwScale ? tf.mul(kernel, dwScale) : kernel, [kh, kw, cin * mult]);
    if (a.kind === 'depthwise') return { kernel: flatKernel, pointwise: null };
    const pw = this.w.pointwise!.read();
    return { kernel: flatKernel, pointwise: bnScale ? tf.mul(pw, bnScale) : pw };
  }

  /** Fake-quantizes a folded kernel (output channels on its last axis) as the layer's weight quantizer says. */
  private quantizeKernel(w: tf.Tensor, step: LayerVariable | undefined, label: string): tf.Tensor {
    const a = this.args;
    if (!this.mode.weightQuantization) return w;
    const axis = a.perChannel ? w.rank - 1 : null;
    if (a.weightQuantizer === 'lsq') {
      if (!step) throw new Error(`internal: ${label}: LSQ weights without a step variable`);
      return quantizeWeightsLsq(w, step.read(), axis, a.weightBits, label);
    }
    return quantizeWeights(w, axis, a.weightBits, label);
  }

  /**
   * LSQ: sets every weight step to the paper's initial value from the current folded weights
   * (prepareQat calls it once the float weights and BN statistics are copied in). No-op otherwise.
   */
  initLsqSteps(): void {
    const a = this.args;
    if (a.weightQuantizer !== 'lsq') return;
    tf.tidy(() => {
      const f = this.folded(this.bnScale());
      const init = (w: tf.Tensor) => initialWeightStep(w, a.perChannel ? w.rank - 1 : null, a.weightBits);
      this.w.kernelStep!.write(init(f.kernel));
      if (f.pointwise) this.w.pointwiseStep!.write(init(f.pointwise));
    });
  }

  /** The convolution (or matmul) with fake-quantized, BN-scaled weights, unscaled again after. */
  private linear(x: tf.Tensor, bnScale: tf.Tensor | null, training: boolean): tf.Tensor {
    const a = this.args;
    const [sh, sw] = pair(a.strides, 1);
    const [dh, dw] = pair(a.dilationRate, 1);
    const pad = a.padding ?? 'valid';
    const folded = this.folded(bnScale);
    if (a.kind === 'dense') {
      const wq = this.quantizeKernel(folded.kernel, this.w.kernelStep, `${this.name}/kernel`);
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, x.shape[x.rank - 1]!]);
      const y = tf.matMul(flat, wq);
      const out = x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), a.units!]);
      return bnScale ? tf.div(out, bnScale) : out;
    }
    if (a.kind === 'conv2d') {
      const wq = this.quantizeKernel(folded.kernel, this.w.kernelStep, `${this.name}/kernel`);
      const y = tf.conv2d(x as tf.Tensor4D, wq as tf.Tensor4D, [sh, sw], pad, 'NHWC', [dh, dw]);
      return bnScale ? tf.div(y, bnScale) : y;
    }
    const [kh, kw, cin, mult] = this.w.kernel.read().shape as [number, number, number, number];
    const dwq = tf.reshape(this.quantizeKernel(folded.kernel, this.w.kernelStep, `${this.name}/depthwise_kernel`), [kh, kw, cin, mult]);
    let y: tf.Tensor = tf.depthwiseConv2d(x as tf.Tensor4D, dwq as tf.Tensor4D, [sh, sw], pad, 'NHWC', [dh, dw]);
    if (a.kind === 'depthwise') return bnScale ? tf.div(y, bnScale) : y;
    // Separable: the depthwise output is an int8 tensor of its own in the runtime.
    y = observeAndQuantize(this.mode, this.w.mid!, y, intermediateSpec(a.output), training, `${this.name}/depthwise_output`);
    const pwq = this.quantizeKernel(folded.pointwise!, this.w.pointwiseStep, `${this.name}/pointwise_kernel`);
    const z = tf.conv2d(y as tf.Tensor4D, pwq as tf.Tensor4D, 1, 'valid');
    return bnScale ? tf.div(z, bnScale) : z;
  }

  private batchNorm(zScaledBack: tf.Tensor, bnScale: tf.Tensor, training: boolean): tf.Tensor {
    const bn = this.args.batchNorm!;
    const z = this.w.bias ? tf.add(zScaledBack, this.w.bias.read()) : zScaledBack;
    const gamma = this.w.gamma!.read();
    const beta = this.w.beta!.read();
    if (training && !this.mode.batchNormFrozen) {
      return batchNormTraining(z, gamma, beta, bn.epsilon, (mean, variance) =>
        tf.tidy(() => {
          const m = bn.momentum;
          this.w.movingMean!.write(tf.add(tf.mul(this.w.movingMean!.read(), m), tf.mul(mean, 1 - m)));
          this.w.movingVariance!.write(tf.add(tf.mul(this.w.movingVariance!.read(), m), tf.mul(variance, 1 - m)));
        }),
      );
    }
    // Running statistics: (z - mean) * gamma / std + beta, with gamma / std = bnScale.
    return tf.add(tf.mul(tf.sub(z, this.w.movingMean!.read()), bnScale), beta);
  }

  /** Named access for conversion: the layer's variables by role. */
  weightsByRole(): Readonly<Weights> {
    return this.w;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.args as unknown as tf.serialization.ConfigDict) };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config as never);
  }
}

function tf_init(kind: 'zeros' | 'ones') {
  return kind === 'zeros' ? initializers.zeros() : initializers.ones();
}

tf.serialization.registerClass(QatLinear);
