// IntModel weight layouts (Keras: dense [cin, cout], conv HWIO, depthwise [kh, kw, C]) to ONNX's,
// with the output channel first so per-channel scales sit on axis 0:
//   Conv       OIHW [cout, cin, kh, kw]
//   depthwise  [C, 1, kh, kw] with group = C (output channel c reads input channel c / multiplier)
//   Gemm       B = [cout, cin] with transB = 1 (what ORT's QGemm fusion and PyTorch's Linear export use)
// The same functions re-lay int8 and float32 weights, so the int8 and float graphs cannot disagree.

type Values = Int8Array | Float32Array;

export interface OnnxWeight<T extends Values> {
  data: T;
  dims: number[];
}

function like<T extends Values>(src: T, n: number): T {
  return (src instanceof Int8Array ? new Int8Array(n) : new Float32Array(n)) as T;
}

export function convWeight<T extends Values>(src: T, shape: number[]): OnnxWeight<T> {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = like(src, src.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = src[((y * kw + x) * cin + i) * cout + o]!;
  return { data: out, dims: [cout, cin, kh, kw] };
}

export function depthwiseWeight<T extends Values>(src: T, shape: number[]): OnnxWeight<T> {
  const [kh, kw, c] = shape as [number, number, number];
  const out = like(src, src.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let k = 0; k < c; k++) out[(k * kh + y) * kw + x] = src[(y * kw + x) * c + k]!;
  return { data: out, dims: [c, 1, kh, kw] };
}

export function denseWeight<T extends Values>(src: T, shape: number[]): OnnxWeight<T> {
  const [cin, cout] = shape as [number, number];
  const out = like(src, src.length);
  for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[o * cin + i] = src[i * cout + o]!;
  return { data: out, dims: [cout, cin] };
}

export function onnxWeight<T extends Values>(kind: 'dense' | 'conv2d' | 'depthwise', src: T, shape: number[]): OnnxWeight<T> {
  return kind === 'dense' ? denseWeight(src, shape) : kind === 'conv2d' ? convWeight(src, shape) : depthwiseWeight(src, shape);
}
