// Tells the two accepted documents apart and takes out their parts: a TF.js Layers `model.json`
// (`modelTopology`, possibly wrapped by the Keras→TF.js converter as {model_config, keras_version,
// backend}, plus `weightsManifest`) or a bare Keras architecture (`model.to_json()`).
import { ModelError, modelProblem } from './errors.js';
import { isObject, type Json, type JsonObject } from './json.js';

export type ModelFormat = 'tfjs-layers' | 'keras-json';

export interface ModelDocument {
  format: ModelFormat;
  /** The Keras model config: {class_name, config}. Still the caller's object: copy before changing it. */
  topology: JsonObject;
  /** The TF.js weights manifest, if the document has one (not yet validated). */
  manifest: Json | undefined;
}

function fail(reason: string): never {
  throw new ModelError([modelProblem(reason)]);
}

/** Keras (h5 attributes) and the TF.js converter put the model config under `model_config`. */
function unwrap(topology: JsonObject): JsonObject {
  const inner = topology.model_config;
  if (inner === undefined || inner === null) return topology;
  // Keras h5 files store it as a JSON string.
  const parsed = typeof inner === 'string' ? safeParse(inner) : inner;
  if (!isObject(parsed)) fail('modelTopology.model_config must be an object');
  return parsed;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fail('modelTopology.model_config is a string that is not valid JSON');
  }
}

export function splitDocument(doc: JsonObject): ModelDocument {
  if ('modelTopology' in doc) {
    if (doc.format !== undefined && doc.format !== 'layers-model') {
      fail(`format '${String(doc.format)}' is not supported: export a Layers model (format 'layers-model'), not a graph model`);
    }
    if (!isObject(doc.modelTopology)) fail('modelTopology must be an object (the Keras model config)');
    const topology = unwrap(doc.modelTopology);
    if (typeof topology.class_name !== 'string') fail('modelTopology is not a Keras model config (no class_name): TF.js graph models are not supported');
    return { format: 'tfjs-layers', topology, manifest: doc.weightsManifest ?? undefined };
  }
  if (doc.format === 'graph-model' || 'signature' in doc) fail('TF.js graph models are not supported: export a Layers model (tf.LayersModel.save or the Keras converter)');
  const topology = unwrap(doc);
  if (typeof topology.class_name !== 'string') {
    fail('not a TF.js Layers model.json (no modelTopology) nor a Keras model JSON (no class_name): expected the output of model.save or model.to_json()');
  }
  return { format: 'keras-json', topology, manifest: undefined };
}
