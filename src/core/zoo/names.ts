// The architectures the zoo can build, and the options they share.

export type ModelName = 'mlp' | 'cnn' | 'ds-cnn';

export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'cnn', 'ds-cnn'];

export interface BuildOptions {
  /** Shape of one sample without the batch axis, NHWC for images: e.g. [28, 28, 1] or [784]. */
  inputShape: number[];
  /** Number of classes (logits) or regression targets. */
  classes: number;
  /** Width multiplier applied to every hidden layer's units/filters (default 1). */
  width?: number;
  /** Seed of every initializer (default 0): the same seed builds bit-identical weights. */
  seed?: number;
}

/** Hidden units/filters scaled by the width multiplier, never below 1. */
export function scaled(units: number, width = 1): number {
  return Math.max(1, Math.round(units * width));
}
