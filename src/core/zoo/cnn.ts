// cnn: Conv3×3(16·w, valid)+BN+ReLU → MaxPool2 → Conv3×3(32·w, valid)+BN+ReLU → MaxPool2 → Flatten
// → Dense(classes). Mirrors the peer's CNN (its convs keep their bias, as nn.Conv2d does by default,
// so parameter counts agree); NHWC here, NCHW there.
import * as tfl from '@tensorflow/tfjs-layers';
import { batchNorm, conv2d, dense, relu } from './blocks.js';
import { type BuildOptions, scaled } from './names.js';

export function buildCnn(o: BuildOptions): tfl.LayersModel {
  if (o.inputShape.length !== 3) throw new Error(`cnn needs an image input [height, width, channels], got [${o.inputShape.join(', ')}]`);
  const seed = o.seed ?? 0;
  const input = tfl.input({ shape: o.inputShape, name: 'input' });
  let x: tfl.SymbolicTensor = input;
  const stages: Array<[number, number]> = [
    [1, scaled(16, o.width)],
    [2, scaled(32, o.width)],
  ];
  for (const [i, filters] of stages) {
    x = conv2d(x, `conv${i}`, { filters, kernelSize: 3, padding: 'valid', useBias: true }, seed);
    x = batchNorm(x, `bn${i}`);
    x = relu(x, `relu${i}`);
    x = tfl.layers.maxPooling2d({ name: `pool${i}`, poolSize: 2, strides: 2 }).apply(x) as tfl.SymbolicTensor;
  }
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = dense(x, 'logits', o.classes, seed);
  return tfl.model({ name: 'cnn', inputs: input, outputs: x });
}
