// Layout bookkeeping. The IntModel is NHWC (Keras); ONNX Conv/pool operators are NCHW. Inside the ONNX
// graph every rank-4 tensor is NCHW; the float32 model input stays NHWC (what TF.js and the dataset
// loader produce) and is transposed once, after it is quantized (the int8 copy is 4× smaller).
import type { OnnxGraph } from './graph.js';

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

/** An IntModel (NHWC) axis of a rank-4 tensor as the ONNX (NCHW) axis; other ranks are unchanged. */
export function onnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a]!;
}

export function transpose(g: OnnxGraph, value: string, perm: number[], base: string): string {
  return g.op('Transpose', [value], base, { perm });
}

/** Reshape to [-1, ...dims]: the batch stays symbolic. */
export function reshape(g: OnnxGraph, value: string, dims: number[], base: string): string {
  return g.op('Reshape', [value, g.int64s(`${base}/shape`, [-1, ...dims])], base);
}

/**
 * Attributes of a convolution or pooling window without those equal to ONNX's defaults (strides and
 * dilations 1, no padding, one group, count_include_pad 0): the same operator in fewer bytes.
 */
export function windowAttributes(a: Record<string, number | number[]>): Record<string, number | number[]> {
  const isDefault = (k: string, v: number | number[]) => {
    if (k === 'strides' || k === 'dilations') return (v as number[]).every((x) => x === 1);
    if (k === 'pads') return (v as number[]).every((x) => x === 0);
    if (k === 'group') return v === 1;
    if (k === 'count_include_pad') return v === 0;
    return false;
  };
  return Object.fromEntries(Object.entries(a).filter(([k, v]) => !isDefault(k, v)));
}
