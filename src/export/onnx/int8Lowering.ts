// The QDQ lowering: every int8 tensor of the IntModel is an 8-bit ONNX tensor; a compute op reads it
// through a DequantizeLinear and its float result goes through a QuantizeLinear with the output's
// parameters — the pattern ONNX Runtime fuses into QLinearConv / QGemm / QLinearAdd / … kernels.
//
// Activation type. ORT's x86 CPU build fuses Conv and MatMul only for uint8 activations with int8
// weights (QDQIsInt8Allowed() is false off ARM), so by default activations are written as uint8 with
// zero point zp + 128: the same grid (u - (zp + 128) = q - zp for u = q + 128), bit-exact arithmetic.
// 'int8' keeps the IntModel's int8 tensors as they are (what ARM builds fuse).
import type { ActivationOp, IntModel, IntTensor } from '../../core/convert/types.js';
import { emitActivation } from './activations.js';
import type { OnnxGraph } from './graph.js';
import type { Lowering, WeightedOp } from './lowering.js';
import { onnxWeight } from './weights.js';

export type ActivationType = 'uint8' | 'int8';

/** The ONNX zero point of an IntModel activation grid. */
export function onnxZeroPoint(zeroPoint: number, type: ActivationType): number {
  return type === 'uint8' ? zeroPoint + 128 : zeroPoint;
}

export function int8Lowering(g: OnnxGraph, model: IntModel, type: ActivationType): Lowering {
  const params = new Map<string, [string, string]>();
  // One scale/zero-point initializer pair per activation tensor, shared by its Q and DQ nodes.
  const paramsOf = (t: string): [string, string] => {
    let p = params.get(t);
    if (!p) {
      const q = activationQuant(model.tensors[t]!);
      p = [g.scalar(`${t}/scale`, q.scale, 'float32'), g.scalar(`${t}/zero_point`, onnxZeroPoint(q.zeroPoint, type), type)];
      params.set(t, p);
    }
    return p;
  };

  const weightConstants = (op: WeightedOp) => {
    const kind = op.kind;
    const wt = model.tensors[op.inputs[1]!]!;
    const wq = wt.quant!;
    const copies = kind === 'conv2d' ? inputCopies(wt.shape[2]!) : 1;
    const w = widenInput(onnxWeight(kind, wt.data as Int8Array, wt.shape), copies);
    const perChannel = wq.axis !== null;
    const dims = perChannel ? [wq.scale.length] : [];
    const base = op.name;
    const wScale = g.constant(`${base}/weight_scale`, dims, Float32Array.from(wq.scale));
    const wZero = g.constant(`${base}/weight_zero_point`, dims, new Int8Array(wq.scale.length));
    const weight = g.op('DequantizeLinear', [g.constant(`${base}/weight_quantized`, w.dims, w.data), wScale, wZero], `${base}/weight`, perChannel ? { axis: 0 } : {});
    let bias: string | null = null;
    if (op.inputs[2]) {
      const bt = model.tensors[op.inputs[2]]!;
      const bq = bt.quant!;
      const bDims = bq.scale.length > 1 ? [bq.scale.length] : [];
      const bScale = g.constant(`${base}/bias_scale`, bDims, Float32Array.from(bq.scale));
      const bZero = g.constant(`${base}/bias_zero_point`, bDims, new Int32Array(bq.scale.length));
      bias = g.op('DequantizeLinear', [g.constant(`${base}/bias_quantized`, bt.shape, bt.data as Int32Array), bScale, bZero], `${base}/bias`, bDims.length ? { axis: 0 } : {});
    }
    return { weight, bias, inputCopies: copies };
  };

  // The same parameters repeated along axis 1 (channels in NCHW, features in [N, F]).
  const perAxisParams = (t: string): [string, string] => {
    const tensor = model.tensors[t]!;
    const q = activationQuant(tensor);
    const n = tensor.shape[tensor.shape.length === 4 ? 3 : 1]!;
    const zp = onnxZeroPoint(q.zeroPoint, type);
    return [
      g.constant(`${t}/scale_per_axis`, [n], new Float32Array(n).fill(q.scale)),
      g.constant(`${t}/zero_point_per_axis`, [n], type === 'uint8' ? new Uint8Array(n).fill(zp) : new Int8Array(n).fill(zp)),
    ];
  };

  return {
    g,
    model,
    real: (value, t, perAxis) =>
      perAxis
        ? g.op('DequantizeLinear', [value, ...perAxisParams(t)], `${t}/dequantized`, { axis: 1 })
        : g.op('DequantizeLinear', [value, ...paramsOf(t)], `${t}/dequantized`),
    store: (value, t) => g.op('QuantizeLinear', [value, ...paramsOf(t)], t),
    constants: weightConstants,
    fused: (op, z) => {
      // The clamp after requantization: when it spans the whole int8 range the output quantizer's own
      // saturation already is the activation (relu with zero point -128), so no node is written and
      // ORT's selector sees the plain DQ → Conv/Gemm → Q pattern.
      if (op.clamp[0] <= -128 && op.clamp[1] >= 127) return z;
      return emitActivation(g, op.activation, z, `${op.name}/${op.activation}`);
    },
    activation: (op, x) => lookup(g, op, x, type),
  };
}

/**
 * ORT's fastest int8 convolution on x86 (MLAS's symmetric "ConvSym" kernel: indirect buffer, requantization
 * fused in the kernel) needs input channels in multiples of 4; with fewer (a first layer on grayscale or
 * RGB images) ORT falls back to im2col, a GEMM with K = 9 and a separate requantization pass — slower than
 * the float convolution. So such a conv reads its (small) input repeated to a multiple of 4 channels, the
 * copies multiplied by zero weights: the integer sums, hence the outputs, are bit-identical (measured:
 * the whole width-4 MNIST cnn ≈ 12% faster at batch 256).
 */
export function inputCopies(cin: number): number {
  if (cin >= 4) return 1;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return 4 / gcd(cin, 4);
}

/** OIHW weights reading `copies` × cin input channels: the original in the first cin, zeros after. */
function widenInput(w: { data: Int8Array; dims: number[] }, copies: number): { data: Int8Array; dims: number[] } {
  if (copies === 1) return w;
  const [cout, cin, kh, kw] = w.dims as [number, number, number, number];
  const block = cin * kh * kw;
  const data = new Int8Array(cout * copies * block);
  for (let o = 0; o < cout; o++) data.set(w.data.subarray(o * block, (o + 1) * block), o * copies * block);
  return { data, dims: [cout, cin * copies, kh, kw] };
}

function activationQuant(t: IntTensor): { scale: number; zeroPoint: number } {
  const q = t.quant;
  if (!q || t.dtype !== 'int8' || q.axis !== null || q.scale.length !== 1) throw new Error(`internal: ${t.name} is not a per-tensor int8 activation`);
  return { scale: q.scale[0]!, zeroPoint: q.zeroPoint[0]! };
}

/**
 * A standalone activation as its exact integer form: a 256-entry table indexed by the input's stored
 * byte (Gather). The IntModel's table is indexed by q + 128, which is the uint8 byte itself.
 */
function lookup(g: OnnxGraph, op: ActivationOp, x: string, type: ActivationType): string {
  const base = op.name;
  const table = type === 'uint8' ? Uint8Array.from(op.table, (v) => v + 128) : Int8Array.from(op.table);
  let index = g.op('Cast', [x], `${base}/index`, { to: 6 /* INT32 */ });
  if (type === 'int8') index = g.op('Add', [index, g.scalar(`${base}/offset`, 128, 'int32')], `${base}/index`);
  return g.op('Gather', [g.constant(`${base}/table`, [256], table), index], op.outputs[0]!, { axis: 0 });
}
