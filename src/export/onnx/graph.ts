// Accumulates the nodes and initializers of one ONNX graph with unique names, then encodes the model.
import { type AttributeValue, attribute, type ConstantData, encodeModel, IR_VERSION, type NodeProto, OPSET, type TensorProto, tensor, type ValueInfoProto } from './proto.js';

export class OnnxGraph {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  /** Scalar initializers by type and value: equal scalars (e.g. the scale of a max-pool's input and output) are stored once. */
  private readonly scalars = new Map<string, string>();
  /** Values renamed to graph outputs: old name → output name. */
  private readonly renamed = new Map<string, string>();

  /** A name not used yet: `base`, else `base_1`, `base_2`, … */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves an exact name (graph inputs/outputs); refuses a clash rather than renaming an interface. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`internal: ONNX name '${name}' is used twice`);
    this.used.add(name);
    return name;
  }

  constant(base: string, dims: number[], data: ConstantData): string {
    const name = this.fresh(base);
    this.initializers.push(tensor(name, dims, data));
    return name;
  }

  /** A scalar initializer, named after the first `base` it was asked for with that type and value. */
  scalar(base: string, value: number, type: 'float32' | 'int8' | 'uint8' | 'int32'): string {
    const data = type === 'float32' ? Float32Array.of(value) : type === 'int8' ? Int8Array.of(value) : type === 'uint8' ? Uint8Array.of(value) : Int32Array.of(value);
    const key = `${type}:${data[0]}`;
    let name = this.scalars.get(key);
    if (name === undefined) this.scalars.set(key, (name = this.constant(base, [], data)));
    return name;
  }

  int64s(base: string, values: number[]): string {
    return this.constant(base, [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  /**
   * Adds a node; `outputs` are fresh names derived from the given bases. Returns the output names.
   * Nodes are not named (optional in ONNX): each is identified by the values it produces.
   */
  node(opType: string, inputs: string[], outputBases: string[], attrs: Record<string, AttributeValue> = {}): string[] {
    const outputs = outputBases.map((b) => this.fresh(b));
    this.nodes.push({
      opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** Single-output node. */
  op(opType: string, inputs: string[], outputBase: string, attrs: Record<string, AttributeValue> = {}): string {
    return this.node(opType, inputs, [outputBase], attrs)[0]!;
  }

  /**
   * Gives a node's output an exact name, reserved before the graph was built, — a graph output — by renaming the value at its
   * producer and every consumer; a value that is not a node output (or was renamed already) gets an Identity.
   */
  nameOutput(value: string, name: string): void {
    if (!this.used.has(name)) throw new Error(`internal: output name '${name}' was not reserved`);
    const current = this.renamed.get(value) ?? value;
    const producer = this.nodes.find((n) => n.output?.includes(current));
    if (!producer || this.renamed.has(value)) {
      this.nodes.push({ opType: 'Identity', input: [current], output: [name] });
      return;
    }
    for (const n of this.nodes) {
      n.output = n.output!.map((o) => (o === value ? name : o));
      n.input = n.input!.map((i) => (i === value ? name : i));
    }
    this.renamed.set(value, name);
  }

  encode(o: { name: string; inputs: ValueInfoProto[]; outputs: ValueInfoProto[]; metadata: Record<string, string> }): Uint8Array {
    return encodeModel({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'qat-service',
      producerVersion: '0.1.0',
      metadataProps: Object.entries(o.metadata).map(([key, value]) => ({ key, value })),
      graph: { name: o.name, node: this.nodes, initializer: this.initializers, input: o.inputs, output: o.outputs },
    });
  }
}
