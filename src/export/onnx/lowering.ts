// What differs between the int8 (QDQ) and the float ONNX graph of one IntModel. The walker (walk.ts)
// lays out the shared structure — layouts, reshapes, pooling, merges — and asks the lowering for the
// numeric parts: how an activation tensor becomes a float operand, how a float result becomes the
// tensor again, and which constants a weighted op uses.
import type { ActivationOp, Conv2dOp, DenseOp, DepthwiseOp, IntModel } from '../../core/convert/types.js';
import type { OnnxGraph } from './graph.js';

export type WeightedOp = DenseOp | Conv2dOp | DepthwiseOp;

export interface Lowering {
  readonly g: OnnxGraph;
  readonly model: IntModel;
  /**
   * Float operand from `value`, an ONNX value holding IntModel tensor `t` (int8: a DequantizeLinear).
   * `use` 'perAxis': written per channel (axis 1, every entry equal — the same values), see walk.ts;
   * 'gemm': the A operand of a Gemm (int8: its zero point always explicit, see int8Lowering.ts).
   */
  real(value: string, t: string, use?: 'perAxis' | 'gemm'): string;
  /** The ONNX value of tensor `t` computed as float `value` (int8: a QuantizeLinear with t's parameters). */
  store(value: string, t: string): string;
  /**
   * The weight (ONNX layout) and bias operands of a weighted op, in the float domain. `widen`: the
   * weight reads more input channels than the op has (the extra ones with zero weights); it maps the
   * op's input value to the widened one.
   */
  constants(op: WeightedOp): { weight: string; bias: string | null; widen?: (x: string) => string };
  /** The fused activation applied to the op's float result, when it is not a no-op in this graph. */
  fused(op: WeightedOp, z: string): string;
  /** A standalone activation on the value of its input tensor. */
  activation(op: ActivationOp, x: string): string;
}
