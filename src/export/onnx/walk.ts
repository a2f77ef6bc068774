// Lays out an IntModel's ops as ONNX nodes, in the model's topological order. Data-moving ops
// (max-pool, flatten, reshape, transposes) act on the tensor's value as it is — int8 in the QDQ graph, so
// no Dequantize/Quantize pair surrounds them; ops that compute new values get a float operand from the
// lowering and hand their float result back to it (a QuantizeLinear in the QDQ graph).
import type { IntModel, IntOp } from '../../core/convert/types.js';
import { emitFloatIsland } from './floatIslands.js';
import { onnxAxis, reshape, TO_NCHW, TO_NHWC, transpose, windowAttributes } from './layout.js';
import type { Lowering } from './lowering.js';

/** ONNX name of each model output: the source layer's name ('logits'), not the IntModel's 'logits/dequantized'. */
export function outputName(model: IntModel, t: string): string {
  const base = t.endsWith('/dequantized') ? t.slice(0, -'/dequantized'.length) : t;
  return model.inputs.includes(base) ? t : base;
}

type Layout = 'nchw' | 'nhwc';

/**
 * IntModel tensor → ONNX value, per layout for rank-4 tensors: a value is transposed only when a
 * consumer needs the other layout, once (the quantized model input feeding a Flatten never is).
 */
class Values {
  private readonly byLayout = { nchw: new Map<string, string>(), nhwc: new Map<string, string>() };

  constructor(
    private readonly L: Lowering,
    private readonly model: IntModel,
  ) {}

  set(t: string, value: string, layout: Layout = 'nchw'): void {
    this.byLayout[this.model.tensors[t]!.shape.length === 4 ? layout : 'nchw'].set(t, value);
  }

  get(t: string, layout: Layout = 'nchw'): string {
    if (this.model.tensors[t]!.shape.length !== 4) layout = 'nchw';
    const have = this.byLayout[layout].get(t);
    if (have !== undefined) return have;
    const other = this.byLayout[layout === 'nchw' ? 'nhwc' : 'nchw'].get(t);
    if (other === undefined) throw new Error(`internal: tensor ${t} used before it is computed`);
    const v = transpose(this.L.g, other, layout === 'nchw' ? TO_NCHW : TO_NHWC, `${t}/${layout}`);
    this.byLayout[layout].set(t, v);
    return v;
  }
}

export function walk(model: IntModel, L: Lowering): { inputs: string[]; outputs: string[] } {
  const values = new Values(L, model);
  // Model inputs are float32 NHWC, as TF.js and the dataset loader hold them.
  for (const name of model.inputs) values.set(name, L.g.reserve(name), 'nhwc');
  // Reserved first, so no internal value takes an interface name.
  const outputs = model.outputs.map((t) => L.g.reserve(outputName(model, t)));
  const guarded = floatIslandLinearInputs(model);
  for (const op of model.ops) lowerOp(model, L, op, values, guarded);
  model.outputs.forEach((t, i) => L.g.nameOutput(values.get(t, 'nhwc'), outputs[i]!));
  return { inputs: [...model.inputs], outputs };
}

/**
 * Float tensors read by float-island Conv2D/Dense layers. ORT's WeightBiasQuantization rewrites any
 * DequantizeLinear (per-tensor) → Conv/Gemm with float weights → [Relu/Clip] → QuantizeLinear into an
 * int8 kernel with weights it quantizes itself, silently undoing a layer the user kept in float; a
 * per-axis DequantizeLinear (equal entries, identical values) is outside that rule.
 */
function floatIslandLinearInputs(model: IntModel): Set<string> {
  return new Set(model.ops.filter((o) => o.kind === 'float' && (o.className === 'Conv2D' || o.className === 'Dense')).flatMap((o) => o.inputs));
}

function lowerOp(model: IntModel, L: Lowering, op: IntOp, values: Values, guarded: Set<string>): void {
  const g = L.g;
  const [inT] = op.inputs as [string];
  const outT = op.outputs[0]!;
  const base = op.name;
  const shape = (t: string) => model.tensors[t]!.shape;
  const rank = (t: string) => shape(t).length;
  const real = (t: string, layout: Layout = 'nchw') => L.real(values.get(t, layout), t);
  const set = (v: string, layout: Layout = 'nchw') => values.set(outT, v, layout);
  const computed = (z: string, layout: Layout = 'nchw') => set(L.store(z, outT), layout);
  switch (op.kind) {
    case 'quantize':
      // A model input is quantized in its NHWC layout (and transposed as int8 if a consumer needs NCHW).
      return computed(values.get(inT, model.inputs.includes(inT) ? 'nhwc' : 'nchw'), model.inputs.includes(inT) ? 'nhwc' : 'nchw');
    case 'dequantize':
      return set(L.real(values.get(inT), inT, guarded.has(outT) ? 'perAxis' : undefined));
    case 'dense': {
      const r = rank(inT);
      const cin = shape(op.inputs[1]!)[0]!;
      // Keras Dense acts on the last axis: rows of a [-1, cin] matrix in NHWC order.
      let x = values.get(inT, 'nhwc');
      if (r !== 2) x = reshape(g, x, [cin], `${base}/rows`);
      const { weight, bias } = L.constants(op);
      const z = g.op('Gemm', [L.real(x, inT, 'gemm'), weight, ...(bias ? [bias] : [])], `${base}/gemm`, { transB: 1 });
      const y = L.store(L.fused(op, z), outT);
      return set(r === 2 ? y : reshape(g, y, shape(outT).slice(1), `${base}/unrows`), 'nhwc');
    }
    case 'conv2d':
    case 'depthwise': {
      const { weight, bias, widen } = L.constants(op);
      const x = widen ? widen(values.get(inT)) : values.get(inT);
      const z = g.op('Conv', [L.real(x, inT), weight, ...(bias ? [bias] : [])], `${base}/conv`, windowAttributes({
        kernel_shape: op.kernelSize,
        strides: op.strides,
        dilations: op.dilations,
        pads: op.pads,
        group: op.kind === 'depthwise' ? shape(inT)[3]! : 1,
      }));
      return computed(L.fused(op, z));
    }
    case 'maxpool':
      // Max commutes with the monotone dequantization: the integer max is the exact result.
      return set(g.op('MaxPool', [values.get(inT)], base, windowAttributes({ kernel_shape: op.poolSize, strides: op.strides, pads: op.pads })));
    case 'avgpool':
      // count_include_pad = 0 (ONNX's default, so not written): padded cells are left out of the average, as in TF.
      return computed(g.op('AveragePool', [real(inT)], `${base}/pool`, windowAttributes({ kernel_shape: op.poolSize, strides: op.strides, pads: op.pads, count_include_pad: 0 })));
    case 'globalavgpool':
    case 'globalmaxpool': {
      const pooled = g.op(op.kind === 'globalavgpool' ? 'GlobalAveragePool' : 'GlobalMaxPool', [real(inT)], `${base}/pool`);
      return set(g.op('Flatten', [L.store(pooled, outT)], base)); // axis 1, the default
    }
    case 'flatten':
      return set(g.op('Flatten', [values.get(inT, 'nhwc')], base)); // axis 1, the default
    case 'reshape':
      return set(reshape(g, values.get(inT, 'nhwc'), op.shape.slice(1), base), 'nhwc');
    case 'add':
    case 'average':
    case 'maximum':
    case 'minimum': {
      const xs = op.inputs.map((t) => real(t));
      const onnxOp = { add: xs.length === 2 ? 'Add' : 'Sum', average: 'Mean', maximum: 'Max', minimum: 'Min' }[op.kind];
      return computed(g.op(onnxOp, xs, `${base}/${op.kind}`));
    }
    case 'concat':
      return computed(g.op('Concat', op.inputs.map((t) => real(t)), `${base}/concat`, { axis: onnxAxis(op.axis, rank(outT)) }));
    case 'softmax':
      return computed(g.op('Softmax', [real(inT)], `${base}/softmax`, { axis: onnxAxis(op.axis, rank(outT)) }));
    case 'activation':
      return set(L.activation(op, values.get(inT)));
    case 'float':
      return set(emitFloatIsland(g, model, op, op.inputs.map((t) => values.get(t))));
    default: {
      const never: never = op;
      throw new Error(`internal: unknown op ${JSON.stringify((never as IntOp).kind)}`);
    }
  }
}
