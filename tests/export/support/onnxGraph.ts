// Reading an exported ONNX model back with onnx-proto, for golden checks of what the file holds:
// initializers as typed arrays, nodes by what they produce and consume, and ORT's optimized graph.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, type NodeProto, onnx } from '../../../src/export/onnx/proto.js';

export type Model = ReturnType<typeof decodeModel>;
export type Node = NodeProto;

const DT = onnx.TensorProto.DataType;

export function initializer(m: Model, name: string): { dims: number[]; dataType: number; values: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array } {
  const t = m.graph!.initializer!.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  const raw = t.rawData!;
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const values =
    t.dataType === DT.FLOAT ? new Float32Array(buf) : t.dataType === DT.INT8 ? new Int8Array(buf) : t.dataType === DT.UINT8 ? new Uint8Array(buf) : t.dataType === DT.INT32 ? new Int32Array(buf) : new BigInt64Array(buf);
  return { dims: (t.dims ?? []).map(Number), dataType: t.dataType!, values };
}

export function producer(m: Model, value: string): Node | undefined {
  return m.graph!.node!.find((n) => n.output!.includes(value));
}

export function consumers(m: Model, value: string): Node[] {
  return m.graph!.node!.filter((n) => n.input!.includes(value));
}

export function attr(n: Node, name: string): number | number[] | undefined {
  const a = n.attribute!.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.ints && a.ints.length > 0) return a.ints.map(Number);
  if (a.type === onnx.AttributeProto.AttributeType.FLOAT) return a.f!;
  return Number(a.i);
}

/** Op types (with domain) of the graph ORT actually executes after its optimizations (level 'all'). */
export async function optimizedOps(bytes: Uint8Array): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qat-export-'));
  const file = path.join(dir, 'optimized.onnx');
  try {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', optimizedModelFilePath: file, intraOpNumThreads: 1, logSeverityLevel: 3 });
    await s.release();
    const m = decodeModel(new Uint8Array(readFileSync(file)));
    return m.graph!.node!.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
