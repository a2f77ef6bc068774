// mlp: [Flatten] → Dense(256·w, relu) → Dense(128·w, relu) → Dense(classes), logits out.
// Same as the peer's MLP (nn.Linear layers with fused ReLU in its QAT fusion).
import * as tfl from '@tensorflow/tfjs-layers';
import { dense } from './blocks.js';
import { type BuildOptions, scaled } from './names.js';

export function buildMlp(o: BuildOptions): tfl.LayersModel {
  const seed = o.seed ?? 0;
  const input = tfl.input({ shape: o.inputShape, name: 'input' });
  let x: tfl.SymbolicTensor = input;
  if (o.inputShape.length > 1) x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = dense(x, 'fc1', scaled(256, o.width), seed, 'relu');
  x = dense(x, 'fc2', scaled(128, o.width), seed, 'relu');
  x = dense(x, 'logits', o.classes, seed);
  return tfl.model({ name: 'mlp', inputs: input, outputs: x });
}
