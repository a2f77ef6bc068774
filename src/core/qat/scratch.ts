// Runs TF.js code that builds layers only to look at them (a dry run, or a deserialisation that may
// fail half-way) and frees what it left behind. Layer weights are variables, which no tidy scope
// collects: they are told apart by the engine's variable registry, before and after. The function
// must be synchronous, so nothing else can register a variable in between.
import * as tf from '../tf.js';

export interface Scratch<T> {
  result: T;
  /** Variables the function registered and did not dispose. */
  created: tf.Variable[];
}

export function trackVariables<T>(fn: () => T): Scratch<T> {
  const registry = tf.engine().registeredVariables;
  const before = new Set(Object.keys(registry));
  const created = () => Object.keys(registry).filter((n) => !before.has(n)).map((n) => registry[n]!);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const v of created()) v.dispose();
    throw e;
  }
  return { result, created: created() };
}

/** Runs `fn` and frees every tensor and variable it allocated; its result must hold no tensors. */
export function inScratch<T>(fn: () => T): T {
  const engine = tf.engine();
  engine.startScope();
  try {
    const { result, created } = trackVariables(fn);
    for (const v of created) v.dispose();
    return result;
  } finally {
    engine.endScope();
  }
}
