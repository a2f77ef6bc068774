// The per-tensor quantization parameters of an IntModel as the model card lists them: every int8
// activation (scale, zero point, the float range it represents, and the zero point ONNX stores), and
// every weighted op's weight and bias scales.
import type { IntModel } from '../../core/convert/types.js';
import { type ActivationType, onnxZeroPoint } from '../onnx/int8Lowering.js';

export interface ActivationEntry {
  tensor: string;
  shape: number[];
  scale: number;
  zero_point: number;
  /** How the int8 ONNX graph stores this tensor (uint8: the same grid with zero_point + 128); null without ONNX. */
  onnx: { dtype: ActivationType; zero_point: number } | null;
  representable: [number, number];
  observed_range: [number, number] | null;
}

export interface WeightEntry {
  op: string;
  layer: string;
  kind: string;
  tensor: string;
  shape: number[];
  layout: string;
  per_channel: boolean;
  /** Output-channel axis of the IntModel (Keras) layout; ONNX puts it on axis 0. */
  axis: number | null;
  integer_range: [number, number];
  scales: number[];
  zero_point: 0;
  bias: { tensor: string; dtype: 'int32'; scales: number[]; zero_point: 0 } | null;
}

const LAYOUTS = { dense: '[cin, cout]', conv2d: '[kh, kw, cin, cout] (HWIO)', depthwise: '[kh, kw, cin·multiplier]' } as const;

export function activationTable(model: IntModel, onnxType: ActivationType | null): ActivationEntry[] {
  return model.report.activations.map((a) => ({
    tensor: a.name,
    shape: a.shape,
    scale: a.scale,
    zero_point: a.zeroPoint,
    onnx: onnxType ? { dtype: onnxType, zero_point: onnxZeroPoint(a.zeroPoint, onnxType) } : null,
    representable: a.representable,
    observed_range: model.tensors[a.name]?.range ?? null,
  }));
}

export function weightTable(model: IntModel): WeightEntry[] {
  const out: WeightEntry[] = [];
  for (const op of model.ops) {
    if (op.kind !== 'dense' && op.kind !== 'conv2d' && op.kind !== 'depthwise') continue;
    const w = model.tensors[op.inputs[1]!]!;
    const b = op.inputs[2] ? model.tensors[op.inputs[2]]! : null;
    const q = w.quant!;
    out.push({
      op: op.name,
      layer: op.layer,
      kind: op.kind,
      tensor: w.name,
      shape: w.shape,
      layout: LAYOUTS[op.kind],
      per_channel: q.axis !== null,
      axis: q.axis,
      integer_range: [q.qmin, q.qmax],
      scales: [...q.scale],
      zero_point: 0,
      bias: b ? { tensor: b.name, dtype: 'int32', scales: [...b.quant!.scale], zero_point: 0 } : null,
    });
  }
  return out;
}
