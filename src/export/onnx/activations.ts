// Keras activation functions (the names src/core/qat/activations.ts supports) as float ONNX operators:
// used by the float graph, by float islands, and for fused activations that are not made redundant by
// the output quantizer.
import type { OnnxGraph } from './graph.js';

type Emit = (g: OnnxGraph, x: string, base: string) => string;

const bound = (g: OnnxGraph, base: string, v: number) => g.scalar(`${base}/${v === 0 ? 'min' : 'max'}`, v, 'float32');

const EMITTERS: Record<string, Emit> = {
  linear: (_g, x) => x,
  relu: (g, x, base) => g.op('Relu', [x], base),
  relu6: (g, x, base) => g.op('Clip', [x, bound(g, base, 0), bound(g, base, 6)], base),
  sigmoid: (g, x, base) => g.op('Sigmoid', [x], base),
  tanh: (g, x, base) => g.op('Tanh', [x], base),
  elu: (g, x, base) => g.op('Elu', [x], base, { alpha: { float: 1 } }),
  // ONNX's default alpha/gamma are TF's SELU constants rounded to float32.
  selu: (g, x, base) => g.op('Selu', [x], base),
  softplus: (g, x, base) => g.op('Softplus', [x], base),
  swish: (g, x, base) => g.op('Mul', [x, g.op('Sigmoid', [x], `${base}/sigmoid`)], base),
  // Keras/TF.js hard sigmoid: clip(0.2·x + 0.5, 0, 1), ONNX HardSigmoid's definition with these constants.
  hard_sigmoid: (g, x, base) => g.op('HardSigmoid', [x], base, { alpha: { float: 0.2 }, beta: { float: 0.5 } }),
};

export function hasOnnxActivation(name: string): boolean {
  return EMITTERS[name] !== undefined;
}

/** Applies the activation to float value `x`; returns the result (x itself for linear). */
export function emitActivation(g: OnnxGraph, name: string, x: string, base: string): string {
  const emit = EMITTERS[name];
  if (!emit) throw new Error(`internal: activation '${name}' has no ONNX form (the writer's check should have refused it)`);
  return emit(g, x, base);
}
