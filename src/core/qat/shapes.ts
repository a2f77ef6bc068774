// Output shapes of the convolutions the QAT layers compute (Keras' conv_utils, which tfjs-layers
// does not export in a form Node can import).

export type Padding = 'valid' | 'same';

export function convOutputLength(length: number | null, kernel: number, padding: Padding, stride: number, dilation = 1): number | null {
  if (length === null) return null;
  const dilated = kernel + (kernel - 1) * (dilation - 1);
  const out = padding === 'same' ? length : length - dilated + 1;
  return Math.floor((out + stride - 1) / stride);
}

export function pair(v: number | number[] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  return [v[0] ?? fallback, v[1] ?? v[0] ?? fallback];
}
