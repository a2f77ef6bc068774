// Every format's round trip for one zoo model after a short real QAT on MNIST: the int8 ONNX graph's
// constants against the IntModel (golden), ORT's fusion into integer kernels, ORT int8 vs the integer
// reference, the float ONNX vs the QAT network run without quantization, the TF.js artifact through
// tf.loadLayersModel vs the dequantized reference, and the model card's checksums and tables.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntModel } from '../../../src/core/convert/types.js';
import { evaluateFloatModel, runIntModel } from '../../../src/core/intref/index.js';
import { qatLayers, setQatMode } from '../../../src/core/qat/mode.js';
import type { ModelName } from '../../../src/core/zoo/index.js';
import { buildModelCard, exportFloatOnnx, exportOnnx, exportTfjsInt8, foldedFloatWeights, TFJS_WEIGHTS_PATH, type TfjsArtifact, verifyOnnx } from '../../../src/export/index.js';
import { MIN_WIDENED_FILTERS } from '../../../src/export/onnx/int8Lowering.js';
import { decodeModel } from '../../../src/export/onnx/proto.js';
import { roundHalfEven } from '../../../src/core/quant/params.js';
import { expectedOnnxLayout } from './expected.js';
import { attr, consumers, initializer, type Model, type Node, optimizedOps, producer } from './onnxGraph.js';
import { accuracyOf, predictAll } from './predict.js';
import { trainZoo, type TrainedZoo, type ZooOptions } from './qatZoo.js';
import { artifactFiles, loadFromFiles } from './tfjsFiles.js';

export interface RoundTripExpectations {
  /** Accuracy the int8 ONNX model must reach on the held-out digits. */
  minAccuracy: number;
  /** Integer kernels ORT must have fused the graph into. */
  fusedOps: string[];
  /** How many times smaller than the float ONNX file the int8 one must be. */
  minSizeRatio?: number;
  zoo?: ZooOptions;
}

const WEIGHTED = new Set(['dense', 'conv2d', 'depthwise']);

function activationScale(im: IntModel, t: string): number {
  return im.tensors[t]!.quant!.scale[0]!;
}

/** The Q/DQ parameters of an activation value in the ONNX graph: [scale, zero point as stored (absent: 0)]. */
function qdqParams(m: Model, node: { input?: string[] | null }): [number, number] {
  const scale = initializer(m, node.input![1]!).values as Float32Array;
  const zp = node.input![2] ? (initializer(m, node.input![2]).values as Uint8Array)[0]! : 0;
  if (node.input![2] && zp === 0) expect(node.input![2]).toBe('zero/uint8'); // the shared 0 (Gemm operands)
  return [scale[0]!, zp];
}

/** What ORT's WeightBiasQuantization computes from a float bias: round_half_even(b / s) with the float32 division. */
function requantizedBias(b: number, s: number): number {
  return roundHalfEven(Math.fround(b / s));
}

/** The IntModel tensor an activation Q/DQ belongs to: Q outputs and DQ outputs are named after it. */
function activationTensor(m: Model, n: Node): string {
  if (n.opType === 'QuantizeLinear') return n.output![0]!.replace(/_\d+$/, '');
  const out = n.output![0]!;
  if (m.graph!.output!.some((o) => o.name === out)) return activationTensor(m, producer(m, n.input![0]!)!);
  return out.replace(/\/dq(_\d+)?$/, '');
}

export function describeZooRoundTrip(name: ModelName, e: RoundTripExpectations): void {
  describe(`${name}: deployable artifacts after a short QAT on MNIST`, () => {
    let z: TrainedZoo;
    let im: IntModel;
    let int8: Uint8Array;
    let floatBytes: Uint8Array;
    let graph: Model;
    let referenceLogits: Float32Array;
    let tfjs: TfjsArtifact;

    beforeAll(async () => {
      z = await trainZoo(name, e.zoo);
      im = z.intModel;
      int8 = exportOnnx(im, { variant: 'int8' });
      floatBytes = exportFloatOnnx(im, foldedFloatWeights(im, z.qatModel));
      graph = decodeModel(int8);
      referenceLogits = runIntModel(im, z.test.x, z.test.y.length);
      tfjs = await exportTfjsInt8(im);
    }, 180_000);

    afterAll(() => z?.qatModel.dispose());

    it('the int8 ONNX graph holds the IntModel int8 weights, biases and scales (golden)', () => {
      expect(Number(graph.irVersion)).toBe(8);
      expect(graph.opsetImport!.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13]]);
      const [input] = graph.graph!.input!;
      expect(input!.name).toBe(im.inputs[0]);
      expect(input!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 28, 28, 1]);
      expect(graph.graph!.output!.map((o) => o.name)).toEqual(['logits']);
      let weighted = 0;
      for (const op of im.ops) {
        if (!WEIGHTED.has(op.kind)) continue;
        weighted++;
        const kind = op.kind as 'dense' | 'conv2d' | 'depthwise';
        const wt = im.tensors[op.inputs[1]!]!;
        const w = initializer(graph, `${op.name}/w`);
        const expected = expectedOnnxLayout(kind, wt, wt.data as Int8Array);
        expect(w.values).toBeInstanceOf(Int8Array);
        expect(w.dims).toEqual(expected.dims);
        expect(Array.from(w.values as Int8Array)).toEqual(Array.from(expected.values));
        // A conv on fewer than 4 input channels with at least MIN_WIDENED_FILTERS filters reads its input
        // repeated to a multiple of 4 channels, the copies with zero weights (ORT's fused int8 kernel needs
        // it): the stored weights go through an int8 Pad of zeros after the original channels.
        const cin = expected.dims[1]!;
        const widened = kind === 'conv2d' && cin < 4 && expected.dims[0]! >= MIN_WIDENED_FILTERS;
        const copies = widened ? (cin === 2 ? 2 : 4) : 1;
        let wValue = `${op.name}/w`;
        if (widened) {
          const pad = consumers(graph, wValue)[0]!;
          expect(pad.opType).toBe('Pad');
          expect(Array.from(initializer(graph, pad.input![1]!).values as BigInt64Array, Number)).toEqual([0, 0, 0, 0, 0, (copies - 1) * cin, 0, 0]);
          expect(pad.input!.length).toBe(2); // constant 0
          wValue = pad.output![0]!;
        }
        const scale = initializer(graph, `${op.name}/w/s`).values as Float32Array;
        expect(Array.from(scale)).toEqual(wt.quant!.scale);
        const weightDq = consumers(graph, wValue)[0]!;
        expect(weightDq.opType).toBe('DequantizeLinear');
        expect(attr(weightDq, 'axis')).toBe(wt.quant!.axis === null ? undefined : 0);
        if (kind === 'dense') {
          // QGemm fusion needs both operands' zero points named, even when 0.
          expect(Array.from(initializer(graph, weightDq.input![2]!).values as Int8Array).every((v) => v === 0)).toBe(true);
        } else {
          expect(weightDq.input).toHaveLength(2); // zero point 0 by default
        }

        // The compute node: x from a DequantizeLinear with the input tensor's parameters, the result
        // to a QuantizeLinear with the output tensor's (the zero point stored as uint8 = int8 + 128).
        const compute = consumers(graph, weightDq.output![0]!)[0]!;
        expect(compute.opType).toBe(kind === 'dense' ? 'Gemm' : 'Conv');
        if (kind === 'depthwise') expect(attr(compute, 'group')).toBe(wt.shape[2]);
        const xDq = producer(graph, compute.input![0]!)!;
        expect(xDq.opType).toBe('DequantizeLinear');
        const xSource = producer(graph, xDq.input![0]!);
        if (widened) expect([xSource!.opType, attr(xSource!, 'axis'), new Set(xSource!.input).size, xSource!.input!.length]).toEqual(['Concat', 1, 1, copies]);
        else expect(xSource?.opType).not.toBe('Concat');
        const inT = im.tensors[op.inputs[0]!]!;
        expect(qdqParams(graph, xDq)).toEqual([inT.quant!.scale[0], inT.quant!.zeroPoint[0]! + 128]);
        const q = consumers(graph, compute.output![0]!)[0]!;
        expect(q.opType).toBe('QuantizeLinear'); // relu/relu6 are made redundant by the output grid
        const outT = im.tensors[op.outputs[0]!]!;
        expect(qdqParams(graph, q)).toEqual([outT.quant!.scale[0], outT.quant!.zeroPoint[0]! + 128]);

        if (op.inputs[2]) {
          // The int32 bias as the float32 values its DequantizeLinear would give, fround(q · s), with
          // s = input scale × weight scale (float32); ORT's WeightBiasQuantization divides by that same
          // product and rounds: it gets the IntModel's integers back, which the fused kernel adds.
          const bt = im.tensors[op.inputs[2]]!;
          const bScale = bt.quant!.scale;
          const sx = activationScale(im, op.inputs[0]!);
          expect(bScale).toEqual(Array.from(scale, (s) => Math.fround(sx * s)));
          const b = initializer(graph, `${op.name}/b`);
          expect(b.values).toBeInstanceOf(Float32Array);
          expect(compute.input![2]).toBe(`${op.name}/b`);
          const s = (c: number) => bScale[bScale.length === 1 ? 0 : c]!;
          const q = Array.from(bt.data as Int32Array);
          expect(Array.from(b.values as Float32Array)).toEqual(q.map((v, c) => Math.fround(v * s(c))));
          expect(Array.from(b.values as Float32Array, (v, c) => requantizedBias(v, s(c)))).toEqual(q);
        }
      }
      expect(weighted).toBe(im.ops.filter((o) => WEIGHTED.has(o.kind)).length);
      // Every activation Q/DQ of the graph carries the IntModel parameters of the tensor it belongs to.
      const weightValues = new Set(im.ops.filter((o) => WEIGHTED.has(o.kind)).flatMap((o) => [`${o.name}/w`, `${o.name}/w/padded`]));
      const activationQdq = graph.graph!.node!.filter((n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && !weightValues.has(n.input![0]!));
      expect(activationQdq.length).toBeGreaterThan(weighted);
      for (const n of activationQdq) {
        const t = im.tensors[activationTensor(graph, n)]!;
        expect(qdqParams(graph, n)).toEqual([t.quant!.scale[0], t.quant!.zeroPoint[0]! + 128]);
      }
    });

    it('the int8 ONNX file holds little besides the numbers: no node names or doc strings, no redundant zero points', () => {
      const ratio = floatBytes.length / int8.length;
      console.log(`${name}: int8 ONNX ${int8.length} bytes, float ONNX ${floatBytes.length} bytes: ${ratio.toFixed(3)}× smaller`);
      if (e.minSizeRatio) expect(ratio).toBeGreaterThanOrEqual(e.minSizeRatio);
      const nodes = graph.graph!.node!;
      expect(nodes.filter((n) => n.name || n.docString)).toEqual([]);
      expect(graph.docString).toBe('');
      // A zero point that is all zeros is named only where it must be: by an operand of a Gemm (ORT's
      // QGemm fusion needs it). Elsewhere DequantizeLinear/QuantizeLinear default to 0 (uint8 output).
      const allZero = new Set(
        graph.graph!.initializer!.filter((t) => nodes.some((n) => /QuantizeLinear$/.test(n.opType!) && n.input![2] === t.name) && initializer(graph, t.name!).values.every((v) => Number(v) === 0)).map((t) => t.name),
      );
      for (const n of nodes.filter((n) => allZero.has(n.input![2]!))) {
        expect(n.opType).toBe('DequantizeLinear');
        expect(consumers(graph, n.output![0]!).map((c) => [c.opType, c.input!.indexOf(n.output![0]!) < 2])).toEqual([['Gemm', true]]);
      }
      // Equal scalars are stored once (a max-pool's output grid is its input's).
      const scalars = graph.graph!.initializer!.filter((t) => t.dims!.length === 0).map((t) => `${t.dataType}:${Buffer.from(t.rawData!).toString('hex')}`);
      expect(new Set(scalars).size).toBe(scalars.length);
    });

    it('ONNX Runtime fuses every Conv and Gemm into integer kernels', async () => {
      const ops = await optimizedOps(int8);
      for (const op of e.fusedOps) expect(ops).toContain(op);
      expect(ops.filter((o) => ['Conv', 'Gemm', 'MatMul', 'com.microsoft.FusedConv', 'com.microsoft.FusedGemm'].includes(o))).toEqual([]);
    });

    it('ORT int8 predictions agree with the integer reference on the held-out digits', async () => {
      const v = await verifyOnnx(int8, z.test, { reference: referenceLogits, timing: false });
      const step = activationScale(im, im.ops.find((o) => o.kind === 'dequantize' && im.outputs.includes(o.outputs[0]!))!.inputs[0]!);
      console.log(`${name}: ORT int8 accuracy ${v.metrics.accuracy}, simulated ${z.simulatedAccuracy}; vs integer reference: argmax agreement ${v.reference!.agreement}, ${(100 * v.reference!.differing).toFixed(3)}% of logits differ, max |Δ| ${v.reference!.maxAbsLogitDiff} (${(v.reference!.maxAbsLogitDiff / step).toFixed(2)} steps)`);
      expect(v.samples).toBe(z.test.y.length);
      expect(v.input).toEqual({ name: im.inputs[0], shape: [-1, 28, 28, 1] });
      expect(v.output).toEqual({ name: 'logits', width: 10 });
      expect(v.reference!.agreement).toBeGreaterThanOrEqual(0.995);
      expect(v.reference!.maxAbsLogitDiff).toBeLessThanOrEqual(2 * step + 1e-7);
      expect(Math.abs(v.metrics.accuracy! - accuracyOf(referenceLogits, z.test.y))).toBeLessThanOrEqual(2 / z.test.y.length);
      expect(v.metrics.accuracy!).toBeGreaterThanOrEqual(e.minAccuracy);
    });

    it('the float ONNX is the QAT network without quantization (BN-folded float weights)', async () => {
      const bytes = floatBytes;
      const m = decodeModel(bytes);
      expect(m.graph!.node!.filter((n) => /Quantize/.test(n.opType!))).toEqual([]);
      expect(m.graph!.output!.map((o) => o.name)).toEqual(['logits']);
      // The same network in TF.js: the QAT model with both fake-quant kinds switched off (BN frozen).
      const saved = qatLayers(z.qatModel).map((l) => [l, { ...l.mode }] as const);
      setQatMode(z.qatModel, { activationQuantization: false, weightQuantization: false });
      const expected = predictAll(z.qatModel, z.test.x, z.test.sampleShape);
      for (const [layer, mode] of saved) layer.mode = mode;
      const v = await verifyOnnx(bytes, z.test, { reference: expected, timing: false });
      const scale = expected.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
      console.log(`${name}: float ONNX accuracy ${v.metrics.accuracy}; vs unquantized QAT network: max |Δ| ${v.reference!.maxAbsLogitDiff} (logits up to ${scale.toFixed(2)})`);
      expect(v.reference!.maxAbsLogitDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
      expect(v.reference!.agreement).toBeGreaterThanOrEqual(0.999);
      expect(v.metrics.accuracy!).toBeGreaterThanOrEqual(e.minAccuracy - 0.03);
    });

    it('the TF.js artifact loads with tf.loadLayersModel and matches the dequantized reference to 1e-5', async () => {
      const spec = tfjs.modelJson.weightsManifest[0]!;
      expect(spec.paths).toEqual([TFJS_WEIGHTS_PATH]);
      let bytes = 0;
      for (const w of spec.weights) bytes += w.shape.reduce((a, b) => a * b, 1) * (w.quantization ? 1 : 4);
      expect(tfjs.weights.length).toBe(bytes);
      // Every int8 kernel is a converter-style uint8 entry: per tensor (min = -128·s, scale = s), or the
      // integers themselves (min -128, scale 1) followed by the per-channel scales.
      for (const op of im.ops) {
        if (!WEIGHTED.has(op.kind)) continue;
        const wt = im.tensors[op.inputs[1]!]!;
        const perChannel = wt.quant!.axis !== null;
        const kernelName = `${op.name.replace(/\//g, '_')}/${op.kind === 'depthwise' ? 'depthwise_kernel' : 'kernel'}`;
        const entry = spec.weights.find((w) => w.name === kernelName)!;
        const s = perChannel ? 1 : wt.quant!.scale[0]!;
        expect(entry.quantization).toEqual({ dtype: 'uint8', min: -128 * s, scale: s, original_dtype: 'float32' });
        if (perChannel) expect(spec.weights.find((w) => w.name === `${op.name.replace(/\//g, '_')}_scale/gamma`)!.quantization).toBeUndefined();
      }
      const model = await loadFromFiles(artifactFiles(tfjs));
      const got = predictAll(model, z.test.x, z.test.sampleShape);
      model.dispose();
      const dequantized = evaluateFloatModel(im, [z.test.x], z.test.y.length, { quantizeActivations: false }).outputs[0]!;
      let max = 0;
      for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - dequantized[i]!));
      console.log(`${name}: TF.js artifact vs dequantized reference max |Δ| ${max}; accuracy ${accuracyOf(got, z.test.y)}`);
      expect(max).toBeLessThanOrEqual(1e-5);
      expect(accuracyOf(got, z.test.y)).toBeGreaterThanOrEqual(e.minAccuracy - 0.03);
    });

    it('the model card carries the interface, every scale and zero point, and each file\'s sha256', () => {
      const modelJson = JSON.stringify(tfjs.modelJson);
      const files = [
        { name: 'model.int8.onnx', bytes: int8, format: 'onnx-int8' as const },
        { name: 'model.float.onnx', bytes: floatBytes, format: 'onnx-float' as const },
        { name: 'tfjs/model.json', bytes: modelJson, format: 'tfjs-model-json' as const },
        { name: `tfjs/${TFJS_WEIGHTS_PATH}`, bytes: tfjs.weights, format: 'tfjs-weights' as const },
      ];
      const metrics = { accuracy: { onnx_int8: 0.9 }, note: 'passed through' };
      const card = JSON.parse(JSON.stringify(buildModelCard({ model: im, task: 'classification', quantization: { weightBits: 8 }, preprocessing: { scale: 'uint8 / 255' }, metrics, files }))) as Record<string, any>;
      expect(card.metrics).toEqual(metrics);
      expect(card.interface.inputs).toEqual([{ name: im.inputs[0], dtype: 'float32', shape: [-1, 28, 28, 1], layout: 'NHWC (batch, height, width, channels)' }]);
      expect(card.interface.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape])).toEqual([['logits', [-1, 10]]]);
      expect(card.files).toEqual(files.map((f) => ({ name: f.name, size_bytes: typeof f.bytes === 'string' ? Buffer.byteLength(f.bytes) : f.bytes.length, sha256: createHash('sha256').update(f.bytes).digest('hex') })));
      expect(card.formats.map((f: { format: string; description: string }) => f.description.length > 40)).toEqual([true, true, true, true]);
      expect(card.quantization.activations).toHaveLength(im.report.activations.length);
      for (const a of card.quantization.activations) {
        const t = im.tensors[a.tensor]!;
        expect([a.scale, a.zero_point, a.onnx.zero_point]).toEqual([t.quant!.scale[0], t.quant!.zeroPoint[0], t.quant!.zeroPoint[0]! + 128]);
      }
      const weightedOps = im.ops.filter((o) => WEIGHTED.has(o.kind));
      expect(card.quantization.weights.map((w: { op: string; scales: number[] }) => [w.op, w.scales])).toEqual(weightedOps.map((o) => [o.name, im.tensors[o.inputs[1]!]!.quant!.scale]));
    });
  });
}
