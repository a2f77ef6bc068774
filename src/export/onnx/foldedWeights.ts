// The float weights of the float ONNX baseline: the prepared QAT model's own float32 weights with batch
// norm folded (the very values its weight fake-quant rounds), keyed by the IntModel's constant names.
// The float graph is thus the trained network minus quantization — the honest baseline for the int8
// graph's speed and accuracy, not a separately trained float model.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { IntModel } from '../../core/convert/types.js';
import { foldedWeights } from '../../core/convert/weights.js';
import { QatLinear } from '../../core/qat/layers/qatLinear.js';
import * as tf from '../../core/tf.js';
import type { FloatWeights } from './floatLowering.js';

export function foldedFloatWeights(model: IntModel, qatModel: LayersModel): FloatWeights {
  const out: FloatWeights = {};
  for (const op of model.ops) {
    if (op.kind !== 'dense' && op.kind !== 'conv2d' && op.kind !== 'depthwise') continue;
    const layer = qatModel.getLayer(op.layer);
    if (!(layer instanceof QatLinear)) throw new Error(`${op.layer}: not a QatLinear layer of the given QAT model`);
    tf.tidy(() => {
      const folded = foldedWeights(layer);
      // A separable layer is two IntModel ops: '<layer>/depthwise' (no bias) and '<layer>/pointwise'.
      const isPointwise = op.name === `${op.layer}/pointwise`;
      const kernel = isPointwise ? folded.pointwise! : folded.kernel;
      out[op.inputs[1]!] = Float32Array.from(kernel.dataSync() as Float32Array);
      if (op.inputs[2]) {
        if (!folded.bias) throw new Error(`${op.layer}: the IntModel has a bias the QAT layer lacks`);
        out[op.inputs[2]] = Float32Array.from(folded.bias.dataSync() as Float32Array);
      }
    });
  }
  return out;
}
