// Explicit padding for TF's 'same'/'valid' rules, so exporters (ONNX wants pads) and the integer
// reference agree with TF.js on where every window starts.

export type Pads = [number, number, number, number];

/** TF 'same': out = ceil(in / stride), total padding split with the extra cell at the bottom/right. */
export function tfPads(inH: number, inW: number, kernel: [number, number], strides: [number, number], dilations: [number, number], padding: 'valid' | 'same'): Pads {
  if (padding === 'valid') return [0, 0, 0, 0];
  const along = (size: number, k: number, s: number, d: number) => {
    const effective = (k - 1) * d + 1;
    const out = Math.ceil(size / s);
    return Math.max(0, (out - 1) * s + effective - size);
  };
  const ph = along(inH, kernel[0], strides[0], dilations[0]);
  const pw = along(inW, kernel[1], strides[1], dilations[1]);
  const top = Math.floor(ph / 2);
  const left = Math.floor(pw / 2);
  return [top, left, ph - top, pw - left];
}

/** Output length of a window op on explicit pads. */
export function windowOutput(size: number, k: number, s: number, d: number, padBefore: number, padAfter: number): number {
  const effective = (k - 1) * d + 1;
  return Math.floor((size + padBefore + padAfter - effective) / s) + 1;
}

export function pair(v: unknown, fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0] ?? fallback, a[1] ?? a[0] ?? fallback];
}
