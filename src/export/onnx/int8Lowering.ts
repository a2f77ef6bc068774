// The QDQ lowering: every int8 tensor of the IntModel is an 8-bit ONNX tensor; a compute op reads it
// through a DequantizeLinear and its float result goes through a QuantizeLinear with the output's
// parameters — the pattern ONNX Runtime fuses into QLinearConv / QGemm / QLinearAdd / … kernels.
//
// Activation type. ORT's x86 CPU build fuses Conv and MatMul only for uint8 activations with int8
// weights (QDQIsInt8Allowed() is false off ARM), so by default activations are written as uint8 with
// zero point zp + 128: the same grid (u - (zp + 128) = q - zp for u = q + 128), bit-exact arithmetic.
// 'int8' keeps the IntModel's int8 tensors as they are (what ARM builds fuse).
//
// Compactness (issue 5: the MNIST cnn's int8 file at least 3.5× smaller than the float one, whose
// weights are 4× larger — so the graph around the int8 weights must stay small): no zero point is
// written where the default 0 is meant and ORT does not need one, equal scalars are stored once, a
// bias is stored as its float32 values when ORT recovers the integers exactly (biasOperand), and
// values carry short names after the IntModel tensor or layer they belong to:
//   t  t/s  t/zp  t/dq       activation tensor t (8-bit), its scale, zero point, its float value
//   L/w  L/w/s  L/w/zp  L/w/dq   layer L's int8 weights, their scales, zero points (Gemm only), float weights
//   L/b  (L/b/s  L/b/dq)     its bias (float32; or int32 with its scale and DequantizeLinear)
//   L/conv  L/gemm           its float result, before the QuantizeLinear to its output tensor
//   zero/uint8  zero/int8    the shared zero point 0, where one must be named
import type { ActivationOp, IntModel, IntTensor } from '../../core/convert/types.js';
import { roundHalfEven } from '../../core/quant/params.js';
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
  // The zero point 0 where one must be named: int8 activations (QuantizeLinear's output type is its
  // zero point's), and both operands of a Gemm — ORT fuses DequantizeLinear → Gemm → QuantizeLinear into
  // QGemm only when the A and B DequantizeLinear name one (measured: without either, Gemm stays float).
  // One shared scalar per type; per-channel weights get a vector, as the spec wants.
  const zeros = new Map<string, string>();
  const zero = (t: 'uint8' | 'int8') => {
    if (!zeros.has(t)) zeros.set(t, g.scalar(`zero/${t}`, 0, t));
    return zeros.get(t)!;
  };

  const params = new Map<string, string[]>();
  // One scale (and zero point) per activation tensor, shared by its Q and DQ nodes. A uint8 zero point
  // of 0 is left out: QuantizeLinear's default (zero point 0, uint8 output), DequantizeLinear's too;
  // ORT fuses Conv and the 8-bit pooling/merge kernels without it.
  const paramsOf = (t: string): string[] => {
    let p = params.get(t);
    if (!p) {
      const q = activationQuant(model.tensors[t]!);
      const zp = onnxZeroPoint(q.zeroPoint, type);
      p = [g.scalar(`${t}/s`, q.scale, 'float32'), ...(zp !== 0 ? [g.scalar(`${t}/zp`, zp, type)] : type === 'int8' ? [zero('int8')] : [])];
      params.set(t, p);
    }
    return p;
  };
  /**
   * The int32 bias as the float32 values its DequantizeLinear would produce — fround(q · s[c]), the
   * same graph with that DequantizeLinear constant-folded — when ORT gets q back exactly: its
   * WeightBiasQuantization (ORT >= 1.21) requantizes a float bias of a DQ → Conv/Gemm → Q group as
   * round_half_even(b / (input scale × weight scale)) in float32, which is checked here per channel.
   * Otherwise the int32 initializer through a DequantizeLinear, its per-channel scale written as the
   * Mul of the input and weight scales it equals (ORT folds it).
   */
  const biasOperand = (op: WeightedOp, wScale: string): string => {
    const base = op.name;
    const bt = model.tensors[op.inputs[2]!]!;
    const q = bt.data as Int32Array;
    const bq = bt.quant!;
    const ws = model.tensors[op.inputs[1]!]!.quant!.scale;
    const sx = activationQuant(model.tensors[op.inputs[0]!]!).scale;
    const derived = bq.scale.length === ws.length && bq.scale.every((s, c) => s === Math.fround(sx * ws[c]!));
    const scale = (c: number) => bq.scale[bq.scale.length === 1 ? 0 : c]!;
    const real = Float32Array.from(q, (v, c) => Math.fround(Math.fround(v) * scale(c)));
    if (derived && real.every((b, c) => roundHalfEven(Math.fround(b / scale(c))) === q[c])) return g.constant(`${base}/b`, bt.shape, real);
    const perChannel = bq.scale.length > 1;
    const bScale = perChannel && derived ? g.op('Mul', [paramsOf(op.inputs[0]!)[0]!, wScale], `${base}/b/s`) : g.constant(`${base}/b/s`, perChannel ? [bq.scale.length] : [], Float32Array.from(bq.scale));
    return g.op('DequantizeLinear', [g.constant(`${base}/b`, bt.shape, q), bScale], `${base}/b/dq`, perChannel ? { axis: 0 } : {});
  };

  const weightConstants = (op: WeightedOp) => {
    const kind = op.kind;
    const wt = model.tensors[op.inputs[1]!]!;
    const wq = wt.quant!;
    const w = onnxWeight(kind, wt.data as Int8Array, wt.shape);
    const perChannel = wq.axis !== null;
    const dims = perChannel ? [wq.scale.length] : [];
    const base = op.name;
    const wScale = g.constant(`${base}/w/s`, dims, Float32Array.from(wq.scale));
    let wInt = g.constant(`${base}/w`, w.dims, w.data);
    let widen: ((x: string) => string) | undefined;
    const copies = kind === 'conv2d' ? inputCopies(w.dims[1]!, w.dims[0]!) : 1;
    if (copies > 1) {
      // The input repeated `copies` times along channels, the weights padded with zeros to match: stored
      // as they are with an int8 Pad, which ORT folds into a constant before fusing. (Padding the input
      // with its zero point instead of repeating it costs a runtime Pad slower than the Concat.)
      const pads = g.int64s(`${base}/w/pads`, [0, 0, 0, 0, 0, (copies - 1) * w.dims[1]!, 0, 0]);
      wInt = g.op('Pad', [wInt, pads], `${base}/w/padded`);
      widen = (x) => g.op('Concat', Array.from({ length: copies }, () => x), `${base}/input_copies`, { axis: 1 });
    }
    const wZero = kind !== 'dense' ? [] : perChannel ? [g.constant(`${base}/w/zp`, dims, new Int8Array(wq.scale.length))] : [zero('int8')];
    const weight = g.op('DequantizeLinear', [wInt, wScale, ...wZero], `${base}/w/dq`, perChannel ? { axis: 0 } : {});
    const bias = op.inputs[2] ? biasOperand(op, wScale) : null;
    return { weight, bias, widen };
  };

  // The same parameters repeated along axis 1 (channels in NCHW, features in [N, F]).
  const perAxisParams = (t: string): string[] => {
    const tensor = model.tensors[t]!;
    const q = activationQuant(tensor);
    const n = tensor.shape[tensor.shape.length === 4 ? 3 : 1]!;
    const zp = onnxZeroPoint(q.zeroPoint, type);
    const scale = g.constant(`${t}/s_per_axis`, [n], new Float32Array(n).fill(q.scale));
    if (zp === 0) return [scale]; // only a DequantizeLinear reads these: its input has the type
    return [scale, g.constant(`${t}/zp_per_axis`, [n], type === 'uint8' ? new Uint8Array(n).fill(zp) : new Int8Array(n).fill(zp))];
  };

  return {
    g,
    model,
    real: (value, t, use) => {
      if (use === 'perAxis') return g.op('DequantizeLinear', [value, ...perAxisParams(t)], `${t}/dq`, { axis: 1 });
      const p = paramsOf(t);
      return g.op('DequantizeLinear', [value, ...p, ...(use === 'gemm' && p.length === 1 ? [zero(type)] : [])], `${t}/dq`);
    },
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

/** Output channels from which a conv on fewer than 4 input channels reads them repeated (see inputCopies). */
export const MIN_WIDENED_FILTERS = 32;

/**
 * ORT's fastest int8 convolution on x86 (MLAS's symmetric "ConvSym" kernel: indirect buffer, requantization
 * fused in the kernel) needs input channels in multiples of 4; with fewer (a first layer on grayscale or
 * RGB images) ORT falls back to im2col, a GEMM with K = 9 and a separate requantization pass — slower than
 * the float convolution. So such a conv reads its (small) input repeated to a multiple of 4 channels, the
 * copies multiplied by zero weights: the integer sums, hence the outputs, are bit-identical. It costs a
 * fixed ≈ 200 bytes (Pad, pads, Concat) and pays with the conv's work, i.e. its output channels: on the
 * MNIST cnn at batch 256 the whole model ran ≈ 12% faster at width 4 (64 filters; the width-4 speed bar
 * needs it) and ≈ 20% at width 1 (16 filters), where int8 stays slower than float either way and the
 * 200 bytes are 1.3% of a file that must stay 3.5× smaller than the float one — so only from
 * MIN_WIDENED_FILTERS output channels.
 */
export function inputCopies(cin: number, cout: number): number {
  if (cin >= 4 || cout < MIN_WIDENED_FILTERS) return 1;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return 4 / gcd(cin, 4);
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
