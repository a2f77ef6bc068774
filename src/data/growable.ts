// Append-only typed arrays for streaming parsers, which do not know how many values are coming. Values
// go into a chain of blocks (each as large as everything before it, up to 4 Mi values), so growing never
// copies what is already stored — a doubling buffer copies all of it each time and holds old and new
// copies together, 2.5× the data at the last growth. take() copies the blocks once into one exact array.

type TypedCtor<T> = { new (n: number): T };

/** Largest block, in values: 16 MiB of float32, so a block's unused tail wastes little. */
const MAX_BLOCK = 1 << 22;

export class Growable<T extends Float32Array | Float64Array | Int32Array> {
  private full: T[] = [];
  private block: T;
  private pos = 0;
  private stored = 0;

  constructor(
    private readonly ctor: TypedCtor<T>,
    initial = 1024,
  ) {
    this.block = new ctor(Math.max(16, Math.min(MAX_BLOCK, initial)));
  }

  get length(): number {
    return this.stored + this.pos;
  }

  push(v: number): void {
    if (this.pos === this.block.length) this.nextBlock();
    this.block[this.pos++] = v;
  }

  /** Announces `extra` values to come. Blocks need no contiguous room, so this is only a hint (unused). */
  reserve(_extra: number): void {}

  /** The values in one array of exactly `length` (the block itself when everything fits in the first). */
  take(): T {
    let out: T;
    if (this.full.length === 0 && this.pos === this.block.length) {
      out = this.block;
    } else {
      out = new this.ctor(this.length);
      let at = 0;
      for (const b of this.full) {
        out.set(b as never, at);
        at += b.length;
      }
      out.set(this.block.subarray(0, this.pos) as never, at);
    }
    this.full = [];
    this.block = new this.ctor(16);
    this.pos = 0;
    this.stored = 0;
    return out;
  }

  private nextBlock(): void {
    this.full.push(this.block);
    this.stored += this.block.length;
    this.block = new this.ctor(Math.min(MAX_BLOCK, Math.max(this.block.length, this.stored)));
    this.pos = 0;
  }
}
