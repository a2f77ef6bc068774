// Accumulates the tensors and ops of an IntModel while the prepared model is walked.
import type { ConversionIssue } from './errors.js';
import type { IntOp, IntTensor, QuantInfo } from './types.js';

export class GraphBuilder {
  readonly tensors: Record<string, IntTensor> = {};
  readonly ops: IntOp[] = [];
  readonly issues: ConversionIssue[] = [];

  add(t: IntTensor): string {
    if (this.tensors[t.name]) throw new Error(`internal: tensor '${t.name}' defined twice`);
    this.tensors[t.name] = t;
    return t.name;
  }

  has(name: string): boolean {
    return this.tensors[name] !== undefined;
  }

  tensor(name: string): IntTensor {
    const t = this.tensors[name];
    if (!t) throw new Error(`internal: unknown tensor '${name}'`);
    return t;
  }

  op(op: IntOp): void {
    for (const n of [...op.inputs, ...op.outputs]) this.tensor(n);
    this.ops.push(op);
  }

  activation(name: string, shape: number[], quant: QuantInfo, range?: [number, number]): string {
    return this.add({ name, shape, dtype: 'int8', quant: { ...quant, scale: [...quant.scale], zeroPoint: [...quant.zeroPoint] }, ...(range ? { range } : {}) });
  }

  float(name: string, shape: number[]): string {
    return this.add({ name, shape, dtype: 'float32' });
  }

  issue(layer: string, className: string, reason: string): void {
    this.issues.push({ layer, className, reason });
  }
}

/** A symbolic Keras shape [null, ...] as an IntModel activation shape [-1, ...]; null if a non-batch dim is unknown. */
export function activationShape(shape: readonly (number | null)[]): number[] | null {
  const out = shape.map((d, i) => (i === 0 ? -1 : d));
  return out.every((d) => d !== null) ? (out as number[]) : null;
}
