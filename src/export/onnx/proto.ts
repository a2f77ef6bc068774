// The ONNX protobuf messages (onnx-proto: generated protobufjs classes of onnx 1.10's onnx.proto) and
// the few constructors the writers need. Tensors carry their bytes in raw_data (little-endian, as the
// spec requires), which every runtime reads and which keeps the file as small as the values.
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type ModelProto = onnxProto.onnx.IModelProto;

export const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** onnx 1.10 (the proto onnx-proto ships) writes IR version 8; opsets 13–15 belong to it. */
export const IR_VERSION = 8;
/** Opset 13: per-axis QuantizeLinear/DequantizeLinear, Softmax over one axis, int8 MaxPool (12+). */
export const OPSET = 13;

export type ConstantData = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

export function dataTypeOf(data: ConstantData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int32Array) return DataType.INT32;
  return DataType.INT64;
}

/** Little-endian bytes of a typed array (copied, so later edits to the array cannot change the file). */
function rawBytes(data: ConstantData): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Int8Array || data instanceof Uint8Array) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } else if (data instanceof Float32Array) {
    data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  } else if (data instanceof Int32Array) {
    data.forEach((v, i) => view.setInt32(4 * i, v, true));
  } else {
    data.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  }
  return out;
}

export function tensor(name: string, dims: number[], data: ConstantData): TensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`internal: initializer ${name}: ${data.length} values for dims [${dims}]`);
  return { name, dims, dataType: dataTypeOf(data), rawData: rawBytes(data) };
}

export type AttributeValue = number | number[] | string | { float: number } | { floats: number[] };

/** Integers (and integer lists) as INT/INTS; floats must be wrapped ({ float }) so 1.0 is not read as 1. */
export function attribute(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`internal: attribute ${name}=${value} is not an integer (wrap floats)`);
    return { name, type: AttributeType.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.FLOATS, floats: value.floats };
}

/** A graph input/output: element type and shape, -1 meaning the symbolic batch dimension. */
export function valueInfo(name: string, elemType: number, shape: number[]): ValueInfoProto {
  const dim = shape.map((d) => (d < 0 ? { dimParam: 'batch' } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
