// ds-cnn: a small MobileNet-style depthwise-separable CNN (as in "Hello Edge" keyword spotting):
// stem Conv3×3/2 + BN + ReLU6, then blocks of DepthwiseConv3×3 + BN + ReLU6 → Conv1×1 + BN + ReLU6,
// GlobalAveragePooling2D, Dense(classes). Convs before BN carry no bias (BN's beta replaces it).
// ReLU6 keeps activation ranges bounded, which is why mobile int8 models use it.
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNorm, conv2d, dense, depthwise, relu } from './blocks.js';
import { type BuildOptions, scaled } from './names.js';

/** [pointwise filters, depthwise stride] per block. */
const BLOCKS: ReadonlyArray<[number, number]> = [
  [32, 1],
  [64, 2],
  [64, 1],
];
const STEM_FILTERS = 16;

export function buildDsCnn(o: BuildOptions): tfl.LayersModel {
  if (o.inputShape.length !== 3) throw new Error(`ds-cnn needs an image input [height, width, channels], got [${o.inputShape.join(', ')}]`);
  const seed = o.seed ?? 0;
  const input = tfl.input({ shape: o.inputShape, name: 'input' });
  let x = conv2d(input, 'stem_conv', { filters: scaled(STEM_FILTERS, o.width), kernelSize: 3, strides: 2, padding: 'same', useBias: false }, seed);
  x = relu(batchNorm(x, 'stem_bn'), 'stem_relu', 6);
  BLOCKS.forEach(([filters, stride], i) => {
    const p = `block${i + 1}`;
    x = depthwise(x, `${p}_dw`, 3, stride, seed);
    x = relu(batchNorm(x, `${p}_dw_bn`), `${p}_dw_relu`, 6);
    x = conv2d(x, `${p}_pw`, { filters: scaled(filters, o.width), kernelSize: 1, useBias: false }, seed);
    x = relu(batchNorm(x, `${p}_pw_bn`), `${p}_pw_relu`, 6);
  });
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tfl.SymbolicTensor;
  x = dense(x, 'logits', o.classes, seed);
  return tfl.model({ name: 'ds-cnn', inputs: input, outputs: x });
}
