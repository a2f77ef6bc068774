// What the model card shows about a converted model: every int8 activation's parameters, multiply-
// accumulates per sample, and the deployed weight bytes against the same (BN-folded) weights in float32.
import type { ConversionReport, IntOp, IntTensor, OpSummary, TensorSummary } from './types.js';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const perSample = (shape: number[]) => size(shape.slice(1));

export function opMacs(op: IntOp, tensors: Record<string, IntTensor>): number {
  const t = (i: number, list = op.inputs) => tensors[list[i]!]!;
  switch (op.kind) {
    case 'dense': {
      const [cin, cout] = t(1).shape as [number, number];
      return (perSample(t(0, op.outputs).shape) / cout) * cin * cout;
    }
    case 'conv2d': {
      const [kh, kw, cin] = t(1).shape as [number, number, number, number];
      return perSample(t(0, op.outputs).shape) * kh * kw * cin;
    }
    case 'depthwise': {
      const [kh, kw] = t(1).shape as [number, number, number];
      return perSample(t(0, op.outputs).shape) * kh * kw;
    }
    default:
      return 0;
  }
}

export function buildReport(tensors: Record<string, IntTensor>, ops: IntOp[]): ConversionReport {
  const activations: TensorSummary[] = Object.values(tensors)
    .filter((t) => t.dtype === 'int8' && !t.data)
    .map((t) => {
      const s = t.quant!.scale[0]!;
      const z = t.quant!.zeroPoint[0]!;
      return { name: t.name, shape: t.shape, scale: s, zeroPoint: z, representable: [(t.quant!.qmin - z) * s, (t.quant!.qmax - z) * s] };
    });
  const bytes = { int8Weights: 0, int32Biases: 0, scales: 0, floatIslands: 0, total: 0, float32: 0 };
  const summaries: OpSummary[] = [];
  const floatLayers: string[] = [];
  for (const op of ops) {
    let params = 0;
    let perChannel: boolean | undefined;
    if (op.kind === 'dense' || op.kind === 'conv2d' || op.kind === 'depthwise') {
      const w = tensors[op.inputs[1]!]!;
      const b = op.inputs[2] ? tensors[op.inputs[2]]! : null;
      params = w.data!.length;
      perChannel = w.quant!.axis !== null;
      bytes.int8Weights += w.data!.length;
      bytes.scales += 4 * w.quant!.scale.length;
      bytes.float32 += 4 * w.data!.length;
      if (b) {
        bytes.int32Biases += 4 * b.data!.length;
        bytes.float32 += 4 * b.data!.length;
      }
    } else if (op.kind === 'float') {
      params = op.weights.reduce((n, w) => n + tensors[w]!.data!.length, 0);
      bytes.floatIslands += 4 * params;
      bytes.float32 += 4 * params;
      floatLayers.push(op.layer);
    }
    summaries.push({ name: op.name, kind: op.kind, macs: opMacs(op, tensors), params, ...(perChannel === undefined ? {} : { perChannel }) });
  }
  bytes.total = bytes.int8Weights + bytes.int32Biases + bytes.scales + bytes.floatIslands;
  return { activations, ops: summaries, macsPerSample: summaries.reduce((n, s) => n + s.macs, 0), bytes, floatLayers };
}
