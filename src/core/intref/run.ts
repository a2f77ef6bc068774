// The integer reference evaluator: executes an IntModel as an int8 runtime would (see arith.ts and the
// kernels for the exact arithmetic), for parity checks against the QAT simulation and exported models.
import type { IntModel } from '../convert/types.js';
import { compile, type Env, type Value } from './plan.js';

export interface EvalOptions {
  /** Keep every tensor's value (int8 as stored, float32 for float tensors) for debugging. */
  trace?: boolean;
}

export interface EvalResult {
  outputs: Float32Array[];
  tensors?: Record<string, Value>;
}

export function checkFeeds(model: IntModel, inputs: Float32Array[], batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
  if (inputs.length !== model.inputs.length) throw new RangeError(`model takes ${model.inputs.length} input(s), got ${inputs.length}`);
  model.inputs.forEach((name, i) => {
    const per = model.tensors[name]!.shape.slice(1).reduce((a, b) => a * b, 1);
    if (inputs[i]!.length !== per * batch) throw new RangeError(`input ${name}: expected ${batch} × ${per} values, got ${inputs[i]!.length}`);
  });
}

export function evaluateIntModel(model: IntModel, inputs: Float32Array[], batch: number, options: EvalOptions = {}): EvalResult {
  checkFeeds(model, inputs, batch);
  const steps = compile(model);
  const env: Env = new Map();
  model.inputs.forEach((name, i) => env.set(name, inputs[i]!));
  for (const run of steps) run(env, batch);
  const outputs = model.outputs.map((name) => env.get(name) as Float32Array);
  return options.trace ? { outputs, tensors: Object.fromEntries(env) } : { outputs };
}

/** Single-input, single-output convenience: float input [batch, ...] → float output (dequantized logits). */
export function runIntModel(model: IntModel, x: Float32Array, batch: number): Float32Array {
  if (model.outputs.length !== 1) throw new RangeError(`runIntModel needs a single-output model; use evaluateIntModel for ${model.outputs.length} outputs`);
  return evaluateIntModel(model, [x], batch).outputs[0]!;
}
