// What each exported file is, in words a deployer needs: which network it holds, its interface and
// how its numbers relate to the integer reference. The model card quotes these.

export type ArtifactFormat = 'onnx-int8' | 'onnx-float' | 'tfjs-model-json' | 'tfjs-weights' | 'model-card' | 'other';

export const FORMAT_DESCRIPTIONS: Record<ArtifactFormat, string> = {
  'onnx-int8':
    'ONNX opset 13, QDQ form: QuantizeLinear on the float32 input, DequantizeLinear → Conv/Gemm → QuantizeLinear per layer with ' +
    'int8 weights (symmetric, zero point 0, per output channel on axis 0 for convolutions), biases holding the int32 bias values ' +
    'times (input scale × weight scale) as float32 — ONNX Runtime ≥ 1.21 turns them back into exactly those int32 biases before ' +
    'fusing (the exporter checks each channel round-trips; where one would not, that layer keeps an int32 bias with its ' +
    'DequantizeLinear) — and the activation scales/zero points below. Zero points that are 0 are omitted (the ONNX default). Activations are stored as uint8 with zero point + 128 ' +
    '(the same grid; ONNX Runtime fuses Conv/MatMul on x86 only for uint8 activations). Max-pool, flatten and reshape act on the ' +
    '8-bit values directly; standalone activations are 256-entry lookup tables; a convolution on fewer than 4 input channels with ' +
    'at least 32 filters reads its input repeated to 4 with zero weights on the copies (same integers; ORT\'s fast int8 kernel needs ' +
    'channel multiples of 4; below 32 filters it does not pay). ' +
    'Layers kept in float stay float32 ONNX operators. ONNX Runtime fuses the graph into QLinearConv/QGemm ' +
    'kernels; on this machine its outputs equal the integer reference. Older runtimes without that bias pass run those layers in float ' +
    '(the same values up to float rounding, without the int8 speed-up). Input: float32 NHWC (channels last, as TF.js); output: float32 ' +
    'logits (no softmax). On x86 CPUs without VNNI, ORT\'s u8s8 kernels may saturate 16-bit intermediate sums.',
  'onnx-float':
    'ONNX opset 13, float32: the same graph as the int8 model without quantization, holding the QAT model\'s own float weights with ' +
    'batch norm folded (the values its weight fake-quant rounds), fused activations as Relu/Clip. It is the speed and accuracy ' +
    'baseline of the int8 model, not a separately trained float network. Same input/output names, shapes and NHWC layout.',
  'tfjs-model-json':
    'TF.js LayersModel (tf.loadLayersModel): the QAT model with batch norm folded and fake-quant removed, as plain Keras layers ' +
    'holding the dequantized int8 weights. Per-tensor int8 weights are stored like the TF.js converter stores quantized weights ' +
    '(uint8 with min = -128·scale, scale); per-channel int8 kernels are stored as their integers (uint8, min -128, scale 1) and ' +
    'followed by a BatchNormalization (gamma = per-channel scale, beta = bias, mean 0, variance 1, epsilon 0), an exact ' +
    'per-channel multiply-add. Biases stay float32. It computes in float32: activations are not quantized, so its logits match the ' +
    'dequantized-weight evaluation of the int8 model, not the int8 runtime. Input NHWC float32; output logits.',
  'tfjs-weights': 'The TF.js weights shard named in model.json\'s weightsManifest.',
  'model-card': 'This file.',
  other: '',
};
