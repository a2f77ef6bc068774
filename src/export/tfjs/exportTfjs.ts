// exportTfjsInt8: the IntModel as a TF.js LayersModel artifact — model.json (topology + weights
// manifest) and one weights shard — that tf.loadLayersModel reads unchanged. Int8 weights are stored
// as the TF.js converter stores quantized weights (uint8 + min/scale entries); see layers.ts for the
// topology and payload.ts for the encoding. Returns bytes and JSON; writes nothing.
import type { IntModel } from '../../core/convert/types.js';
import * as tf from '../../core/tf.js';
import { IssueList } from '../errors.js';
import { checkIntModel } from '../onnx/check.js';
import { buildTfjsModel, TFJS_ACTIVATIONS } from './layers.js';
import type { WeightPayload } from './payload.js';

type WeightsManifestEntry = tf.io.WeightsManifestEntry;

/** The shard's file name, as the converter names a single-group, single-shard model. */
export const TFJS_WEIGHTS_PATH = 'group1-shard1of1.bin';

export interface TfjsArtifact {
  /** model.json: { format, generatedBy, convertedBy, modelTopology, weightsManifest }. */
  modelJson: {
    format: 'layers-model';
    generatedBy: string;
    convertedBy: string;
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: WeightsManifestEntry[] }[];
  };
  /** The shard named in the manifest (TFJS_WEIGHTS_PATH). */
  weights: Uint8Array;
}

function check(model: IntModel): void {
  const issues = new IssueList();
  checkIntModel(model, 'tfjs-int8', issues);
  for (const op of model.ops) {
    if (op.kind === 'activation' && !TFJS_ACTIVATIONS[op.activation]) issues.add(op.layer, op.kind, `activation '${op.activation}' has no TF.js identifier here`);
    if ((op.kind === 'dense' || op.kind === 'conv2d' || op.kind === 'depthwise') && !TFJS_ACTIVATIONS[op.activation]) issues.add(op.layer, op.kind, `fused activation '${op.activation}' has no TF.js identifier here`);
    if (op.kind === 'float' && !tf.serialization.SerializationMap.getMap().classNameMap[op.className]) {
      issues.add(op.layer, `float ${op.className}`, 'layer class is not registered with TF.js, so tf.loadLayersModel could not rebuild it');
    }
  }
  issues.throwIfAny('tfjs-int8');
}

/** The manifest entry (in the converter's key order) and the stored bytes of one weight. */
function entry(name: string, shape: number[], p: WeightPayload): { spec: WeightsManifestEntry; bytes: Uint8Array } {
  if (p.quantized) {
    const { bytes, min, scale } = p.quantized;
    const quantization = { dtype: 'uint8' as const, min, scale, original_dtype: 'float32' };
    return { spec: { name, shape, dtype: 'float32', quantization }, bytes };
  }
  return { spec: { name, shape, dtype: 'float32' }, bytes: new Uint8Array(Float32Array.from(p.values).buffer) };
}

export async function exportTfjsInt8(model: IntModel): Promise<TfjsArtifact> {
  check(model);
  const built = buildTfjsModel(model);
  try {
    let topology: object | null = null;
    let specs: { name: string; shape: number[] }[] = [];
    let generatedBy = 'TensorFlow.js tfjs-layers';
    await built.model.save(
      tf.io.withSaveHandler(async (a) => {
        topology = a.modelTopology as object;
        specs = a.weightSpecs ?? [];
        generatedBy = a.generatedBy ?? generatedBy;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const entries = specs.map((s) => {
      const p = built.payloads.get(s.name);
      if (!p) throw new Error(`internal: no payload for weight ${s.name}`);
      return entry(s.name, s.shape, p);
    });
    const weights = new Uint8Array(entries.reduce((n, e) => n + e.bytes.length, 0));
    let offset = 0;
    for (const e of entries) {
      weights.set(e.bytes, offset);
      offset += e.bytes.length;
    }
    return {
      modelJson: {
        format: 'layers-model',
        generatedBy,
        convertedBy: 'qat-service export: IntModel int8 weights as TF.js uint8 min/scale entries',
        modelTopology: topology!,
        weightsManifest: [{ paths: [TFJS_WEIGHTS_PATH], weights: entries.map((e) => e.spec) }],
      },
      weights,
    };
  } finally {
    built.model.dispose();
  }
}
