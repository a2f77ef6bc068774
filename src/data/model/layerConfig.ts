// Reads one field of a Keras layer config, checked: a bad value is reported with its key, and what
// Keras means by a default or a scalar-for-a-pair is spelled out once here.
import type { Json, JsonObject } from './json.js';

export type Shape = number[];

/** A layer config that cannot be used; the caller adds the layer's name. */
export class RuleError extends Error {}

const show = (v: Json | undefined) => JSON.stringify(v ?? null);

export function positiveInt(c: JsonObject, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RuleError(`${key} must be a positive integer, got ${show(c[key])}`);
  return v;
}

export function nonNegativeInt(v: Json | undefined, key: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RuleError(`${key} must be a non-negative integer, got ${show(v)}`);
  return v;
}

/** Keras accepts `3` for `(3, 3)`. */
export function intPair(c: JsonObject, key: string, fallback: number): [number, number] {
  const v = c[key] ?? fallback;
  const pair = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1)) {
    throw new RuleError(`${key} must be a positive integer or a pair of them, got ${show(c[key])}`);
  }
  return pair as [number, number];
}

export function bool(c: JsonObject, key: string, fallback: boolean): boolean {
  const v = c[key] ?? fallback;
  if (typeof v !== 'boolean') throw new RuleError(`${key} must be true or false, got ${show(c[key])}`);
  return v;
}

export function padding(c: JsonObject): 'valid' | 'same' {
  const v = c.padding ?? 'valid';
  if (v !== 'valid' && v !== 'same') throw new RuleError(`padding must be 'valid' or 'same', got ${show(c.padding)}`);
  return v;
}

/** Images are NHWC throughout the project (datasets, kernels, int8 export). */
export function channelsLast(c: JsonObject): void {
  const v = c.data_format ?? 'channels_last';
  if (v !== 'channels_last') throw new RuleError(`data_format ${show(c.data_format)} is not supported (channels_last only)`);
}

export function single(inputs: Shape[]): Shape {
  if (inputs.length !== 1) throw new RuleError(`takes one input, got ${inputs.length}`);
  return inputs[0]!;
}

export function image(inputs: Shape[]): [number, number, number] {
  const x = single(inputs);
  if (x.length !== 3) throw new RuleError(`needs an image input [height, width, channels], got [${x.join(', ')}]`);
  return x as [number, number, number];
}

/** Elements in a shape; Infinity when past exact integers (a limit check then refuses it). */
export function elements(shape: Shape): number {
  const n = shape.reduce((a, b) => a * b, 1);
  return Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
}

export const formatShape = (s: Shape) => `[${s.join(', ')}]`;
