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
import { decodeModel } from '../../../src/export/onnx/proto.js';
import { expectedOnnxLayout } from './expected.js';
import { attr, consumers, initializer, type Model, optimizedOps, producer } from './onnxGraph.js';
import { accuracyOf, predictAll } from './predict.js';
import { trainZoo, type TrainedZoo, type ZooOptions } from './qatZoo.js';
import { artifactFiles, loadFromFiles } from './tfjsFiles.js';

export interface RoundTripExpectations {
  /** Accuracy the int8 ONNX model must reach on the held-out digits. */
  minAccuracy: number;
  /** Integer kernels ORT must have fused the graph into. */
  fusedOps: string[];
  zoo?: ZooOptions;
}

const WEIGHTED = new Set(['dense', 'conv2d', 'depthwise']);

function activationScale(im: IntModel, t: string): number {
  return im.tensors[t]!.quant!.scale[0]!;
}

/** The Q/DQ parameters of an activation value in the ONNX graph: [scale, zero point as stored]. */
function qdqParams(m: Model, node: { input?: string[] | null }): [number, number] {
  const scale = initializer(m, node.input![1]!).values as Float32Array;
  const zp = initializer(m, node.input![2]!).values as Uint8Array;
  return [scale[0]!, zp[0]!];
}

export function describeZooRoundTrip(name: ModelName, e: RoundTripExpectations): void {
  describe(`${name}: deployable artifacts after a short QAT on MNIST`, () => {
    let z: TrainedZoo;
    let im: IntModel;
    let int8: Uint8Array;
    let graph: Model;
    let referenceLogits: Float32Array;
    let tfjs: TfjsArtifact;

    beforeAll(async () => {
      z = await trainZoo(name, e.zoo);
      im = z.intModel;
      int8 = exportOnnx(im, { variant: 'int8' });
      graph = decodeModel(int8);
      referenceLogits = runIntModel(im, z.test.x, z.test.y.length);
      tfjs = await exportTfjsInt8(im);
    }, 180_000);

    afterAll(() => z?.qatModel.dispose());

    it('the int8 ONNX graph holds the IntModel int8 weights, int32 biases and scales (golden)', () => {
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
        const w = initializer(graph, `${op.name}/weight_quantized`);
        const expected = expectedOnnxLayout(kind, wt, wt.data as Int8Array);
        expect(w.values).toBeInstanceOf(Int8Array);
        // A conv on fewer than 4 input channels reads its input repeated to a multiple of 4 channels,
        // the copies with zero weights (ORT's fused int8 kernel needs it); everything else is as is.
        const cin = expected.dims[1]!;
        const copies = w.dims[1]! / cin;
        expect(copies).toBe(kind === 'conv2d' && cin < 4 ? (cin === 2 ? 2 : 4) : 1);
        expect(w.dims).toEqual([expected.dims[0], cin * copies, ...expected.dims.slice(2)]);
        const block = expected.values.length / expected.dims[0]!;
        const widened = new Float32Array(w.values.length);
        for (let o = 0; o < expected.dims[0]!; o++) widened.set(expected.values.subarray(o * block, (o + 1) * block), o * block * copies);
        expect(Array.from(w.values as Int8Array)).toEqual(Array.from(widened));
        const scale = initializer(graph, `${op.name}/weight_scale`).values as Float32Array;
        expect(Array.from(scale)).toEqual(wt.quant!.scale);
        expect(Array.from(initializer(graph, `${op.name}/weight_zero_point`).values as Int8Array).every((v) => v === 0)).toBe(true);
        const weightDq = consumers(graph, `${op.name}/weight_quantized`)[0]!;
        expect(weightDq.opType).toBe('DequantizeLinear');
        expect(attr(weightDq, 'axis')).toBe(wt.quant!.axis === null ? undefined : 0);

        // The compute node: x from a DequantizeLinear with the input tensor's parameters, the result
        // to a QuantizeLinear with the output tensor's (the zero point stored as uint8 = int8 + 128).
        const compute = consumers(graph, weightDq.output![0]!)[0]!;
        expect(compute.opType).toBe(kind === 'dense' ? 'Gemm' : 'Conv');
        if (kind === 'depthwise') expect(attr(compute, 'group')).toBe(wt.shape[2]);
        const xDq = producer(graph, compute.input![0]!)!;
        expect(xDq.opType).toBe('DequantizeLinear');
        if (copies > 1) {
          const concat = producer(graph, xDq.input![0]!)!;
          expect([concat.opType, attr(concat, 'axis'), new Set(concat.input).size, concat.input!.length]).toEqual(['Concat', 1, 1, copies]);
        }
        const inT = im.tensors[op.inputs[0]!]!;
        expect(qdqParams(graph, xDq)).toEqual([inT.quant!.scale[0], inT.quant!.zeroPoint[0]! + 128]);
        const q = consumers(graph, compute.output![0]!)[0]!;
        expect(q.opType).toBe('QuantizeLinear'); // relu/relu6 are made redundant by the output grid
        const outT = im.tensors[op.outputs[0]!]!;
        expect(qdqParams(graph, q)).toEqual([outT.quant!.scale[0], outT.quant!.zeroPoint[0]! + 128]);

        if (op.inputs[2]) {
          const bt = im.tensors[op.inputs[2]]!;
          expect(Array.from(initializer(graph, `${op.name}/bias_quantized`).values as Int32Array)).toEqual(Array.from(bt.data as Int32Array));
          // The file itself satisfies bias scale = input scale × weight scale (float32), zero point 0.
          const bScale = initializer(graph, `${op.name}/bias_scale`).values as Float32Array;
          const sx = activationScale(im, op.inputs[0]!);
          expect(Array.from(bScale)).toEqual(Array.from(scale, (s) => Math.fround(sx * s)));
          expect(Array.from(initializer(graph, `${op.name}/bias_zero_point`).values as Int32Array).every((v) => v === 0)).toBe(true);
          expect(compute.input![2]).toBe(consumers(graph, `${op.name}/bias_quantized`)[0]!.output![0]);
        }
      }
      expect(weighted).toBe(im.ops.filter((o) => WEIGHTED.has(o.kind)).length);
      // Every activation Q/DQ of the graph carries the IntModel parameters of the tensor it belongs to.
      const activationQdq = graph.graph!.node!.filter((n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') && n.input![1]!.endsWith('/scale') && !n.input![1]!.includes('weight') && !n.input![1]!.includes('bias'));
      expect(activationQdq.length).toBeGreaterThan(weighted);
      for (const n of activationQdq) {
        const t = im.tensors[n.input![1]!.slice(0, -'/scale'.length)]!;
        expect(qdqParams(graph, n)).toEqual([t.quant!.scale[0], t.quant!.zeroPoint[0]! + 128]);
      }
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
      const bytes = exportFloatOnnx(im, foldedFloatWeights(im, z.qatModel));
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
      const floatBytes = exportFloatOnnx(im, foldedFloatWeights(im, z.qatModel));
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
