// prepareQat: rewrites a float TF.js LayersModel into its QAT form (DESIGN.md §3). Compute layers
// absorb the BatchNormalization and activation that follow them (one QatLinear each, as an int8
// runtime fuses them); data-moving layers pass the quantized tensor through untouched; ops that make
// new values get an output quantizer; anything else is refused by name and class, or kept in float.
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { activationName, SUPPORTED_ACTIVATIONS } from './activations.js';
import { type QatConfig, resolveQatConfig } from './config.js';
import { QatLinear, type LinearKind, type QatLinearArgs } from './layers/qatLinear.js';
import { QatQuantize } from './layers/qatQuantize.js';
import type { ActivationQuantSpec } from './layers/ranges.js';

type Layer = tfl.layers.Layer;

export type Treatment = 'quantized' | 'fused' | 'passthrough' | 'requantized' | 'float';

export interface LayerReport {
  name: string;
  className: string;
  treatment: Treatment;
  /** For a compute layer: the BN/activation layers it absorbed. For a fused layer: its host. */
  with?: string[];
  weightBits?: number;
  perChannel?: boolean;
}

export interface UnsupportedLayer {
  name: string;
  className: string;
  reason: string;
}

export class UnsupportedModelError extends Error {
  constructor(readonly layers: UnsupportedLayer[]) {
    super(
      `cannot quantize: ${layers.map((l) => `${l.name} (${l.className}): ${l.reason}`).join('; ')}. ` +
        'Set allow_float_fallback or a per-layer float override to keep such layers in float.',
    );
    this.name = 'UnsupportedModelError';
  }
}

export class QatConfigError extends Error {
  constructor(readonly issues: { field: string; reason: string }[]) {
    super(`invalid QAT config: ${issues.map((i) => `${i.field} ${i.reason}`).join('; ')}`);
    this.name = 'QatConfigError';
  }
}

export interface PreparedQat {
  model: LayersModel;
  config: QatConfig;
  layers: LayerReport[];
}

const LINEAR: Record<string, LinearKind> = { Dense: 'dense', Conv2D: 'conv2d', DepthwiseConv2D: 'depthwise', SeparableConv2D: 'separable' };
const PASSTHROUGH = new Set(['MaxPooling2D', 'Flatten', 'Reshape', 'Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);
const REQUANTIZED = new Set(['Add', 'Concatenate', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Average', 'Maximum', 'Minimum']);
const ACTIVATION_LAYERS = new Set(['ReLU', 'Activation', 'Softmax']);

const cls = (l: Layer) => l.getClassName();
const cfg = (l: Layer) => l.getConfig() as Record<string, unknown>;

function inboundLayers(layer: Layer): Layer[] {
  const nodes = (layer as unknown as { inboundNodes: { inboundLayers: Layer[] }[] }).inboundNodes;
  if (nodes.length > 1) throw new UnsupportedModelError([{ name: layer.name, className: cls(layer), reason: 'shared layers (called more than once) are not supported' }]);
  return nodes[0]?.inboundLayers ?? [];
}

function consumers(layer: Layer): Layer[] {
  return (layer as unknown as { outboundNodes: { outboundLayer: Layer }[] }).outboundNodes.map((n) => n.outboundLayer);
}

/** The activation a layer applies, if it is a pure activation layer ('relu', 'relu6', 'softmax', …). */
function activationOf(layer: Layer): string | null {
  const c = cls(layer);
  const conf = cfg(layer);
  if (c === 'ReLU') {
    const max = conf.maxValue as number | null | undefined;
    if (max === 6) return 'relu6';
    return max === null || max === undefined ? 'relu' : null;
  }
  if (c === 'Softmax') return 'softmax';
  if (c === 'Activation') return activationName(conf.activation);
  return null;
}

export function prepareQat(model: LayersModel, partial: Partial<QatConfig> = {}): PreparedQat {
  const { config, issues } = resolveQatConfig(partial);
  if (issues.length > 0) throw new QatConfigError(issues);
  const unknownOverrides = Object.keys(config.layers).filter((n) => !model.layers.some((l) => l.name === n));
  if (unknownOverrides.length > 0) {
    throw new QatConfigError(unknownOverrides.map((n) => ({ field: `layers.${n}`, reason: 'names no layer of the model' })));
  }

  // `after` is the activation the quantized tensor comes out of: an LSQ grid is unsigned after relu/relu6
  // (all of its levels are usable), signed otherwise.
  const activationSpec = (name: string, fixed?: [number, number], after?: string | null): ActivationQuantSpec => {
    const bits = config.layers[name]?.activationBits ?? config.activationBits;
    const kind = config.activationQuantizer;
    const lsq = kind === 'lsq' ? { signed: after !== 'relu' && after !== 'relu6' } : {};
    return { bits, kind, decay: config.emaDecay, ...lsq, ...(fixed ? { fixed } : {}) };
  };
  // Softmax outputs live in [0, 1): TFLite fixes their int8 scale at 1/256 (zero point -128).
  const softmaxRange = (bits: number): [number, number] => [0, 1 - 2 ** -bits];

  const tensors = new Map<string, SymbolicTensor>();
  const absorbed = new Set<string>();
  const reports: LayerReport[] = [];
  const unsupported: UnsupportedLayer[] = [];
  const weightCopies: [Layer, Layer][] = [];
  const linearSources = new Map<QatLinear, { linear: Layer; bn: Layer | null }>();

  const clone = (layer: Layer): Layer => {
    const ctor = layer.constructor as unknown as { fromConfig: (c: unknown, conf: unknown) => Layer };
    const copy = ctor.fromConfig(layer.constructor, layer.getConfig());
    weightCopies.push([layer, copy]);
    return copy;
  };
  const apply = (layer: Layer, inputs: SymbolicTensor[]): SymbolicTensor =>
    layer.apply(inputs.length === 1 ? inputs[0]! : inputs) as SymbolicTensor;
  const quantizeAfter = (name: string, t: SymbolicTensor, fixed?: [number, number], after?: string | null): SymbolicTensor =>
    apply(new QatQuantize({ name: `${name}_quant`, output: activationSpec(name, fixed, after) }), [t]);

  // Inputs: a fresh Input per model input, quantized as the runtime's first QuantizeLinear.
  const newInputs = model.inputs.map((t) => {
    const source = t.sourceLayer as Layer;
    const input = tfl.input({ shape: t.shape.slice(1) as number[], name: source.name, dtype: t.dtype });
    tensors.set(source.name, quantizeAfter(source.name, input));
    reports.push({ name: source.name, className: 'InputLayer', treatment: 'requantized' });
    return input;
  });

  for (const layer of model.layers) {
    const c = cls(layer);
    if (c === 'InputLayer' || absorbed.has(layer.name)) continue;
    const inputs = inboundLayers(layer).map((l) => {
      const t = tensors.get(l.name);
      if (!t) throw new Error(`internal: ${l.name} was not rewritten before ${layer.name}`);
      return t;
    });
    const override = config.layers[layer.name];
    const keepFloat = (reason?: string): void => {
      if (reason && !override?.float && !config.allowFloatFallback) {
        unsupported.push({ name: layer.name, className: c, reason });
        tensors.set(layer.name, inputs[0]!); // keep walking to report every problem at once
        return;
      }
      tensors.set(layer.name, quantizeAfter(layer.name, apply(clone(layer), inputs)));
      reports.push({ name: layer.name, className: c, treatment: 'float' });
    };

    if (override?.float) {
      keepFloat();
      continue;
    }
    const kind = LINEAR[c];
    if (kind) {
      const conf = cfg(layer);
      // A softmax head (Dense(activation: 'softmax')) runs as the layer, then a softmax with its fixed range.
      const softmaxHead = activationName(conf.activation) === 'softmax';
      const ownActivation = softmaxHead ? 'linear' : activationName(conf.activation);
      if (!SUPPORTED_ACTIVATIONS.includes(ownActivation)) {
        keepFloat(`activation '${ownActivation}' is not supported`);
        continue;
      }
      // Look ahead for BatchNormalization, then an activation, each the only consumer of its producer.
      let tail = layer;
      let bn: Layer | null = null;
      let act = ownActivation;
      const next = () => (consumers(tail).length === 1 ? consumers(tail)[0]! : null);
      const isOutput = (l: Layer) => model.outputs.some((t) => t.sourceLayer === l);
      const candidateBn = softmaxHead ? null : next();
      // A layer the user keeps in float is never absorbed: it stays its own (float) layer.
      const keptFloat = (l: Layer | null) => l !== null && config.layers[l.name]?.float === true;
      if (config.foldBatchNorm && ownActivation === 'linear' && !isOutput(tail) && candidateBn && cls(candidateBn) === 'BatchNormalization' && !keptFloat(candidateBn)) {
        const axis = cfg(candidateBn).axis as number | number[];
        if (axis === -1 || axis === (layer.outputShape as number[]).length - 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === (layer.outputShape as number[]).length - 1))) {
          bn = candidateBn;
          tail = bn;
        }
      }
      const candidateAct = act === 'linear' && !softmaxHead && !isOutput(tail) ? next() : null;
      const fusedAct = candidateAct && ACTIVATION_LAYERS.has(cls(candidateAct)) ? activationOf(candidateAct) : null;
      if (candidateAct && fusedAct && fusedAct !== 'softmax' && SUPPORTED_ACTIVATIONS.includes(fusedAct) && !keptFloat(candidateAct)) {
        act = fusedAct;
        tail = candidateAct;
      }
      const perChannel = override?.perChannel ?? (kind === 'dense' ? config.perChannelDense : config.perChannel);
      const weightBits = override?.weightBits ?? config.weightBits;
      const bnConf = bn ? cfg(bn) : null;
      const args: QatLinearArgs = {
        name: layer.name,
        kind,
        units: kind === 'dense' ? (conf.units as number) : (conf.filters as number | undefined),
        kernelSize: conf.kernelSize as number[] | undefined,
        strides: conf.strides as number[] | undefined,
        padding: conf.padding as 'valid' | 'same' | undefined,
        dilationRate: conf.dilationRate as number[] | undefined,
        // tfjs-layers' SeparableConv2D.getConfig() omits depthMultiplier: the kernel's last axis is it.
        depthMultiplier: kind === 'depthwise' || kind === 'separable' ? (layer.getWeights()[0]!.shape[3] as number) : undefined,
        useBias: conf.useBias as boolean,
        activation: act,
        batchNorm: bnConf ? { epsilon: bnConf.epsilon as number, momentum: bnConf.momentum as number } : null,
        weightBits,
        perChannel,
        ...(config.weightQuantizer === 'lsq' ? { weightQuantizer: 'lsq' as const } : {}),
        // The fused output is the tail's tensor: an activation-bits override there wins over the layer's own.
        output: activationSpec(config.layers[tail.name]?.activationBits !== undefined ? tail.name : layer.name, undefined, act),
      };
      if (kind !== 'dense' && conf.dataFormat === 'channelsFirst') {
        keepFloat('channels-first data format is not supported');
        continue;
      }
      const qat = new QatLinear(args);
      const out = apply(qat, inputs);
      linearSources.set(qat, { linear: layer, bn });
      const fusedNames = [bn, tail !== bn && tail !== layer ? tail : null].filter((l): l is Layer => l !== null).map((l) => l.name);
      for (const n of fusedNames) absorbed.add(n);
      const result = softmaxHead
        ? quantizeAfter(`${layer.name}_softmax`, apply(tfl.layers.activation({ activation: 'softmax', name: `${layer.name}_softmax` }), [out]), softmaxRange(override?.activationBits ?? config.activationBits))
        : out;
      for (const n of [layer.name, ...fusedNames]) tensors.set(n, result);
      reports.push({ name: layer.name, className: c, treatment: 'quantized', with: fusedNames, weightBits, perChannel });
      for (const n of fusedNames) {
        const l = model.getLayer(n);
        reports.push({ name: n, className: cls(l), treatment: 'fused', with: [layer.name] });
      }
      continue;
    }
    if (PASSTHROUGH.has(c)) {
      tensors.set(layer.name, apply(clone(layer), inputs));
      reports.push({ name: layer.name, className: c, treatment: 'passthrough' });
      continue;
    }
    if (REQUANTIZED.has(c) || ACTIVATION_LAYERS.has(c)) {
      const act = ACTIVATION_LAYERS.has(c) ? activationOf(layer) : null;
      if (ACTIVATION_LAYERS.has(c) && (act === null || (act !== 'softmax' && !SUPPORTED_ACTIVATIONS.includes(act)))) {
        keepFloat(`activation ${JSON.stringify(cfg(layer).activation ?? cfg(layer))} is not supported`);
        continue;
      }
      const bits = override?.activationBits ?? config.activationBits;
      tensors.set(layer.name, quantizeAfter(layer.name, apply(clone(layer), inputs), act === 'softmax' ? softmaxRange(bits) : undefined, act));
      reports.push({ name: layer.name, className: c, treatment: 'requantized' });
      continue;
    }
    if (c === 'BatchNormalization' && inboundLayers(layer).some((l) => config.layers[l.name]?.float === true)) {
      keepFloat(); // follows a layer the user keeps in float: part of that float island
      continue;
    }
    keepFloat(c === 'BatchNormalization' ? 'BatchNormalization must directly follow a Conv2D/DepthwiseConv2D/SeparableConv2D/Dense layer to be folded' : 'layer type has no int8 equivalent here');
  }
  if (unsupported.length > 0) throw new UnsupportedModelError(unsupported);

  const outputs = model.outputs.map((t) => tensors.get((t.sourceLayer as Layer).name)!);
  const qatModel = tfl.model({ inputs: newInputs, outputs, name: `${model.name}_qat` });
  copyWeights(weightCopies, linearSources);
  return { model: qatModel, config, layers: reports };
}

/** Starts the QAT model from the float model's trained weights. */
function copyWeights(copies: [Layer, Layer][], linear: Map<QatLinear, { linear: Layer; bn: Layer | null }>): void {
  for (const [from, to] of copies) to.setWeights(from.getWeights());
  for (const [qat, { linear: source, bn }] of linear) {
    const w = qat.weightsByRole();
    const src = source.getWeights();
    const kind = qat.args.kind;
    // Source order: Dense/Conv2D [kernel, bias?]; Depthwise [depthwise_kernel, bias?]; Separable [depthwise, pointwise, bias?].
    w.kernel.write(src[0]!);
    let next = 1;
    if (kind === 'separable') w.pointwise!.write(src[next++]!);
    if (w.bias) w.bias.write(src[next]!);
    if (bn) {
      const bnConf = bn.getConfig() as { center: boolean; scale: boolean };
      const bw = bn.getWeights();
      let i = 0;
      if (bnConf.scale !== false) w.gamma!.write(bw[i++]!);
      if (bnConf.center !== false) w.beta!.write(bw[i++]!);
      w.movingMean!.write(bw[i++]!);
      w.movingVariance!.write(bw[i++]!);
    }
    // LSQ weight steps start from the folded float weights, so they need the BN statistics above.
    qat.initLsqSteps();
  }
}
