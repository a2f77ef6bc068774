// Expected ONNX weight layouts computed independently of the exporter (TF.js transposes), so a wrong
// index formula in src/export/onnx/weights.ts cannot also be in the expectation.
import type { IntTensor } from '../../../src/core/convert/types.js';
import * as tf from '../../../src/core/tf.js';

/** dense [cin, cout] → [cout, cin]; conv HWIO → OIHW; depthwise [kh, kw, C] → [C, 1, kh, kw]. */
export function expectedOnnxLayout(kind: 'dense' | 'conv2d' | 'depthwise', t: IntTensor, values: ArrayLike<number>): { dims: number[]; values: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor(Float32Array.from(values), t.shape, 'float32');
    let y: tf.Tensor;
    if (kind === 'dense') y = tf.transpose(x, [1, 0]);
    else if (kind === 'conv2d') y = tf.transpose(x, [3, 2, 0, 1]);
    else y = tf.expandDims(tf.transpose(x, [2, 0, 1]), 1);
    return { dims: y.shape as number[], values: Float32Array.from(y.dataSync() as Float32Array) };
  });
}
