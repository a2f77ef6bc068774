// The integer model description that `convert` produces from a prepared QAT model and that the export
// formats (ONNX QDQ, TF.js quantized weights) and the integer reference evaluator consume.
//
// A graph of named tensors and ops in topological order; plain JSON plus typed arrays for constant data.
//
// Conventions
// - Affine quantization: real = (q - zeroPoint) * scale (DESIGN.md §3).
// - Activation tensors: int8 in [-128, 127], per tensor; model inputs/outputs and float-island tensors are
//   float32. Their `shape` is the full NHWC (or [N, features]) shape with the batch dimension as -1.
// - Weight tensors: int8, symmetric (zero point 0), narrow range [-(2^(b-1) - 1), 2^(b-1) - 1] for b weight
//   bits, per output channel (`quant.axis` = the output-channel axis, always the last one) or per tensor.
//   Layouts (row-major, all Keras/TF.js layouts so TF.js weights need no transposition; ONNX export transposes):
//     dense      [cin, cout]
//     conv2d     [kh, kw, cin, cout]                 (HWIO)
//     depthwise  [kh, kw, cin * multiplier]          output channel o reads input channel floor(o / multiplier);
//                                                    bytes identical to Keras' [kh, kw, cin, multiplier]
// - Bias tensors: int32 [cout], zero point 0, scale[c] = fround(inputScale * weightScale[c]).
// - All scales are float32 values (stored as numbers already rounded to float32).
//
// Arithmetic the description implies (what ONNX Runtime's QLinearConv / QLinearMatMul / QDQ do, and what
// the integer reference in src/core/intref executes):
//   acc  = bias[c] + Σ (x - zx) * w                               int32
//   q    = saturate(roundHalfEven(fround(fround(acc) * M[c])) + zy, clamp)
//   M[c] = fround(fround(sx * sw[c]) / sy)                         float32 requantization multiplier
// Requantizing ops (average pools, add, concatenate, …) rescale (x - zx) by fround(sx / sy) (divided by the
// element count for averages) and round half to even once.

export type IntDType = 'int8' | 'int32' | 'float32';

export interface QuantInfo {
  /** One entry per tensor, or one per index of `axis` (float32 values). */
  scale: number[];
  zeroPoint: number[];
  /** Quantization axis for per-channel tensors; null when per tensor. */
  axis: number | null;
  /** Integer range the values occupy (activations [-128, 127]; 8-bit weights [-127, 127]; int32 bias). */
  qmin: number;
  qmax: number;
}

export interface IntTensor {
  name: string;
  /** Activations: [-1, ...per-sample dims] (batch first). Constants: their exact shape. */
  shape: number[];
  dtype: IntDType;
  /** Absent for float32 tensors. */
  quant?: QuantInfo;
  /** Constants only: weights (int8), biases (int32), float-island weights (float32). */
  data?: Int8Array | Int32Array | Float32Array;
  /** The float range this activation's parameters came from (widened to contain 0), for reports. */
  range?: [number, number];
}

/** Output clamp of a fused activation, in the output's integer domain (linear: [qmin, qmax]). */
export type FusedActivation = 'linear' | 'relu' | 'relu6';

interface OpBase {
  /** Unique op name (the source layer's name, suffixed for ops a layer expands into). */
  name: string;
  /** The prepared model's layer the op comes from. */
  layer: string;
  inputs: string[];
  outputs: string[];
}

/** float32 → int8 with the output tensor's parameters (round half to even, saturate). */
export interface QuantizeOp extends OpBase {
  kind: 'quantize';
}

/** int8 → float32 with the input tensor's parameters. */
export interface DequantizeOp extends OpBase {
  kind: 'dequantize';
}

interface WeightedOpBase extends OpBase {
  /** inputs: [x, weight, bias?]. */
  activation: FusedActivation;
  /** [lo, hi] the output is saturated to: the fused activation expressed in the output's integer domain. */
  clamp: [number, number];
}

export interface DenseOp extends WeightedOpBase {
  kind: 'dense';
}

export interface ConvGeometry {
  kernelSize: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: 'valid' | 'same';
  /** Explicit padding TF's rule gives: [top, left, bottom, right] (padded positions hold real 0 = the zero point). */
  pads: [number, number, number, number];
}

export interface Conv2dOp extends WeightedOpBase, ConvGeometry {
  kind: 'conv2d';
}

export interface DepthwiseOp extends WeightedOpBase, ConvGeometry {
  kind: 'depthwise';
  depthMultiplier: number;
}

export interface PoolGeometry {
  poolSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
  pads: [number, number, number, number];
}

/** Integer max over the window; output keeps the input's scale and zero point. Padding is ignored. */
export interface MaxPoolOp extends OpBase, PoolGeometry {
  kind: 'maxpool';
}

/** Σ (x - zx) over the window's in-bounds cells (padding excluded from the count), requantized to the output. */
export interface AvgPoolOp extends OpBase, PoolGeometry {
  kind: 'avgpool';
}

/** Mean over H and W, requantized. Output [N, C]. */
export interface GlobalAvgPoolOp extends OpBase {
  kind: 'globalavgpool';
}

/** Integer max over H and W, requantized. Output [N, C]. */
export interface GlobalMaxPoolOp extends OpBase {
  kind: 'globalmaxpool';
}

/** Row-major reshape to [N, prod]; data and parameters unchanged. */
export interface FlattenOp extends OpBase {
  kind: 'flatten';
}

export interface ReshapeOp extends OpBase {
  kind: 'reshape';
  /** Target shape, batch first as -1. */
  shape: number[];
}

/**
 * Elementwise merges of same-shaped int8 inputs, each rescaled to the output: add (sum), average
 * (sum / n), maximum, minimum.
 */
export interface MergeOp extends OpBase {
  kind: 'add' | 'average' | 'maximum' | 'minimum';
}

/** Each input requantized to the output's parameters, concatenated along `axis` (batch axis 0). */
export interface ConcatOp extends OpBase {
  kind: 'concat';
  axis: number;
}

/** Softmax over the last axis on dequantized values; output has fixed parameters (scale 1/256, zero point -128). */
export interface SoftmaxOp extends OpBase {
  kind: 'softmax';
  axis: number;
}

/**
 * A standalone elementwise activation: int8 → int8 through a 256-entry table (index q + 128), the exact
 * integer form of quantize(f(dequantize(q))).
 */
export interface ActivationOp extends OpBase {
  kind: 'activation';
  activation: string;
  table: Int8Array;
}

/**
 * A layer kept in float: float32 inputs (dequantized) → the Keras layer → float32 output (quantized by
 * the next op). `weights` name float32 constants in the layer's getWeights() order.
 */
export interface FloatLayerOp extends OpBase {
  kind: 'float';
  className: string;
  config: Record<string, unknown>;
  weights: string[];
}

export type IntOp =
  | QuantizeOp
  | DequantizeOp
  | DenseOp
  | Conv2dOp
  | DepthwiseOp
  | MaxPoolOp
  | AvgPoolOp
  | GlobalAvgPoolOp
  | GlobalMaxPoolOp
  | FlattenOp
  | ReshapeOp
  | MergeOp
  | ConcatOp
  | SoftmaxOp
  | ActivationOp
  | FloatLayerOp;

export type IntOpKind = IntOp['kind'];

export interface TensorSummary {
  name: string;
  shape: number[];
  scale: number;
  zeroPoint: number;
  /** The float range the parameters represent: [(qmin - zp) * scale, (qmax - zp) * scale]. */
  representable: [number, number];
}

export interface OpSummary {
  name: string;
  kind: IntOpKind;
  /** Int8 multiply-accumulates per sample (0 for ops without weights; float islands are not counted). */
  macs: number;
  /** Int8 weight elements (dense/conv/depthwise) or float32 elements (float islands). */
  params: number;
  perChannel?: boolean;
}

export interface ConversionReport {
  /** Every int8 activation tensor's parameters (the model card's table). */
  activations: TensorSummary[];
  ops: OpSummary[];
  macsPerSample: number;
  bytes: {
    /** Int8 weights. */
    int8Weights: number;
    /** Int32 biases. */
    int32Biases: number;
    /** Float32 per-channel (or per-tensor) weight and bias scales. */
    scales: number;
    /** Float32 weights of layers kept in float. */
    floatIslands: number;
    /** What the deployed model stores: the four above. */
    total: number;
    /** The same weights and biases (BN folded) as float32: what the quantized model is compared to. */
    float32: number;
  };
  /** Layers kept in float. */
  floatLayers: string[];
}

export interface IntModel {
  format: 'qat-int-model';
  version: 1;
  name: string;
  /** float32 input tensors. */
  inputs: string[];
  /** float32 output tensors (dequantized). */
  outputs: string[];
  tensors: Record<string, IntTensor>;
  /** Topological order. */
  ops: IntOp[];
  report: ConversionReport;
}
