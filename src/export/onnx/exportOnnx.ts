// exportOnnx: an IntModel as a deployable ONNX model (bytes, opset 13).
//   int8   QDQ graph: QuantizeLinear on the float32 input, int8 weights (zero point 0, per output channel
//          on axis 0), the int32 biases (scale = input scale × weight scale, zero point 0) as the float32
//          values their DequantizeLinear gives when ORT requantizes those exactly (int8Lowering.ts), the
//          IntModel's activation scales and zero points; float32 logits out. ORT fuses it into integer
//          kernels.
//   float  the same graph in float32 with caller-supplied float weights (exportFloatOnnx).
// Interface of both: input float32 NHWC [batch, H, W, C] (or [batch, features]) under the IntModel's
// input name, output float32 under the output layer's name ('logits').
import type { IntModel } from '../../core/convert/types.js';
import { checkOnnx } from './check.js';
import { type FloatWeights, floatLowering } from './floatLowering.js';
import { OnnxGraph } from './graph.js';
import { type ActivationType, int8Lowering } from './int8Lowering.js';
import { DataType, valueInfo } from './proto.js';
import { walk } from './walk.js';

export type OnnxExportOptions =
  | { variant: 'int8'; activationType?: ActivationType }
  | { variant: 'float'; weights: FloatWeights };

/** Throws ExportError (format 'onnx-int8' / 'onnx-float') naming every op it cannot write; else the model bytes. */
export function exportOnnx(model: IntModel, options: OnnxExportOptions): Uint8Array {
  const float = options.variant === 'float';
  checkOnnx(model, float ? 'onnx-float' : 'onnx-int8', float ? options.weights : undefined);
  const g = new OnnxGraph();
  const activationType = options.variant === 'int8' ? (options.activationType ?? 'uint8') : null;
  const lowering = options.variant === 'float' ? floatLowering(g, model, options.weights) : int8Lowering(g, model, activationType!);
  const io = walk(model, lowering);
  const layout = model.inputs.map((n) => `${n}: ${model.tensors[n]!.shape.length === 4 ? 'NHWC' : 'row-major'}`).join(', ');
  return g.encode({
    name: `${model.name}${float ? '' : '_int8'}`,
    inputs: io.inputs.map((n) => valueInfo(n, DataType.FLOAT, model.tensors[n]!.shape)),
    outputs: io.outputs.map((n, i) => valueInfo(n, DataType.FLOAT, model.tensors[model.outputs[i]!]!.shape)),
    // No doc string or node names: the metadata says what the file is (the model card says more), and
    // every value is named after its IntModel tensor or layer (see int8Lowering.ts).
    metadata: {
      variant: options.variant,
      input_layout: layout,
      ...(activationType ? { activation_type: activationType } : {}),
    },
  });
}

export function exportFloatOnnx(model: IntModel, weights: FloatWeights): Uint8Array {
  return exportOnnx(model, { variant: 'float', weights });
}
