// buildModelCard: model-card.json as a plain object — what the model is, how to feed it, how it was
// quantized (config and every scale and zero point), what it measured (metrics are passed in, never
// recomputed here), and the sha256 of every file shipped with it (from the files' bytes).
import { createHash } from 'node:crypto';
import type { IntModel } from '../../core/convert/types.js';
import type { ActivationType } from '../onnx/int8Lowering.js';
import { outputName } from '../onnx/walk.js';
import { type ArtifactFormat, FORMAT_DESCRIPTIONS } from './formats.js';
import { activationTable, weightTable } from './quantTables.js';

export const MODEL_CARD_SCHEMA = 'qat-service/model-card@1';

export interface CardFile {
  /** Path relative to the card, as shipped. */
  name: string;
  bytes: Uint8Array | string;
  format: ArtifactFormat;
}

export interface ModelCardInput {
  model: IntModel;
  task: 'classification' | 'regression';
  /** Class names, index = logit position (optional). */
  labels?: string[];
  /** The resolved QAT configuration (src/core/qat/config.ts QatConfig) or any JSON description of it. */
  quantization: object;
  /** How raw data becomes the float32 input (e.g. { scale: 'uint8 / 255' } or per-feature standardization). */
  preprocessing: object;
  /** Metrics measured elsewhere (accuracy of each variant, agreement, latency, throughput, sizes). */
  metrics: object;
  files: CardFile[];
  /** Activation storage of the int8 ONNX file (default 'uint8', the exporter's default); null when no ONNX ships. */
  onnxActivationType?: ActivationType | null;
  /** Free-form provenance (dataset, seed, job id, …). */
  provenance?: object;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function layoutOf(shape: number[]): string {
  return shape.length === 4 ? 'NHWC (batch, height, width, channels)' : shape.length === 2 ? '(batch, features)' : `rank ${shape.length}, batch first`;
}

export function buildModelCard(c: ModelCardInput): Record<string, unknown> {
  const m = c.model;
  const names = new Set<string>();
  for (const f of c.files) {
    if (names.has(f.name)) throw new RangeError(`model card: file ${f.name} is listed twice`);
    names.add(f.name);
  }
  const onnxType = c.onnxActivationType === undefined ? 'uint8' : c.onnxActivationType;
  return {
    schema: MODEL_CARD_SCHEMA,
    model: {
      name: m.name,
      task: c.task,
      ...(c.labels ? { labels: c.labels } : {}),
      macs_per_sample: m.report.macsPerSample,
      bytes: m.report.bytes,
      float_layers: m.report.floatLayers,
      ops: m.report.ops,
    },
    interface: {
      inputs: m.inputs.map((n) => ({ name: n, dtype: 'float32', shape: m.tensors[n]!.shape, layout: layoutOf(m.tensors[n]!.shape) })),
      outputs: m.outputs.map((n) => ({
        name: outputName(m, n),
        dtype: 'float32',
        shape: m.tensors[n]!.shape,
        meaning: c.task === 'classification' ? 'logits (apply softmax for probabilities; argmax is the prediction)' : 'regression outputs',
      })),
      batch: 'the first dimension (-1) is the batch size, any value',
    },
    preprocessing: c.preprocessing,
    quantization: {
      config: c.quantization,
      scheme: {
        affine: 'real = (q - zero_point) * scale',
        activations: 'int8 [-128, 127], asymmetric, per tensor; the range always contains 0',
        weights: 'int8, symmetric (zero point 0), narrow range [-(2^(bits-1) - 1), 2^(bits-1) - 1]; per output channel or per tensor as listed',
        bias: 'int32, scale = input scale × weight scale[c], zero point 0',
        rounding: 'round half to even (ONNX QuantizeLinear, ORT requantization)',
        data_movers: 'max-pool, flatten and reshape keep their input\'s scale and zero point',
      },
      activations: activationTable(m, onnxType),
      weights: weightTable(m),
    },
    metrics: c.metrics,
    formats: c.files.map((f) => ({ file: f.name, format: f.format, description: FORMAT_DESCRIPTIONS[f.format] })),
    files: c.files.map((f) => ({ name: f.name, size_bytes: typeof f.bytes === 'string' ? Buffer.byteLength(f.bytes) : f.bytes.byteLength, sha256: sha256Hex(f.bytes) })),
    ...(c.provenance ? { provenance: c.provenance } : {}),
  };
}
