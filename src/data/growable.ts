// Append-only typed arrays that double their capacity, so streaming parsers keep one copy of the values.

type TypedCtor<T> = { new (n: number): T };

export class Growable<T extends Float32Array | Float64Array | Int32Array> {
  private buf: T;
  length = 0;

  constructor(
    private readonly ctor: TypedCtor<T>,
    initial = 1024,
  ) {
    this.buf = new ctor(Math.max(16, initial));
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }

  /** Make room for `extra` more values without pushing them one by one. */
  reserve(extra: number): void {
    if (this.length + extra > this.buf.length) this.grow(this.length + extra);
  }

  get(i: number): number {
    return this.buf[i]!;
  }

  /** The values, trimmed to length (a copy only when the buffer is larger than needed). */
  take(): T {
    if (this.buf.length === this.length) return this.buf;
    const out = new this.ctor(this.length);
    out.set(this.buf.subarray(0, this.length) as never);
    this.buf = new this.ctor(16);
    this.length = 0;
    return out;
  }

  private grow(min: number): void {
    let cap = this.buf.length;
    while (cap < min) cap = cap < 1 << 24 ? cap * 2 : Math.ceil(cap * 1.5);
    const next = new this.ctor(cap);
    next.set(this.buf as never);
    this.buf = next;
  }
}
