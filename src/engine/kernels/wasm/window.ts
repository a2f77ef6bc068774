/**
 * Rows [start, start + length) of an axis that holds data only in [0, size): which rows to slice
 * out and how many zero rows the convolution must add on each side (as explicit padding, which
 * costs no copy). `null` when the window holds no data at all.
 */
export interface AxisWindow {
  begin: number;
  size: number;
  padBefore: number;
  padAfter: number;
}

export function axisWindow(start: number, length: number, size: number): AxisWindow | null {
  const begin = Math.max(0, start);
  const end = Math.min(size, start + length);
  if (end <= begin) return null;
  return { begin, size: end - begin, padBefore: begin - start, padAfter: start + length - end };
}
