// Imports a user's model: a TF.js Layers model.json with its weight files, or a Keras JSON architecture
// (Keras 2 or 3), with or without weights. Every check that can refuse the model runs on the JSON and
// the byte lengths alone, before a single tensor is allocated: the format, the layer classes, the
// shapes (and so the parameter count against the limit), the manifest against the declared weights,
// and the weight files against the manifest. Only then does TF.js build the model.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { UnsupportedLayer } from '../../core/qat/prepare.js';
import { findUnsupportedLayers } from '../../core/qat/support.js';
import { buildLayersModel } from './build.js';
import { type ModelFormat, splitDocument } from './document.js';
import { type ModelLimits, modelProblem, refuse, resolveModelLimits, weightsProblem } from './errors.js';
import { readGraph } from './graph.js';
import { inferShapes } from './infer.js';
import { cloneJson, type Json, type JsonObject, readJsonDocument, readJsonValue } from './json.js';
import { formatShape } from './layerConfig.js';
import { manifestPaths, parseManifest } from './manifest.js';
import { matchWeights } from './matchWeights.js';
import { normalizeTopology } from './normalize.js';
import { readWeightFiles, type WeightPayload } from './weightFiles.js';

export interface ModelSource {
  /** The model.json or Keras JSON: text, UTF-8 bytes, or already parsed. */
  modelJson: unknown;
  /** Weight files by their path relative to the model JSON, as the manifest names them. */
  weights?: ReadonlyMap<string, Uint8Array>;
  /** A TF.js weights manifest for a bare Keras JSON (a model.json carries its own). */
  weightsManifest?: unknown;
}

export interface ModelInfo {
  format: ModelFormat;
  name: string;
  /** Every weight (trainable or not), as counted before importing and by TF.js after. */
  params: number;
  layers: { name: string; className: string }[];
  /** One sample, without the batch axis. */
  inputShape: number[];
  outputShape: number[];
  /** The activation the model ends with: 'linear' for logits, 'softmax', … */
  outputActivation: string;
  /** False: the model starts from its initializers and needs float training first. */
  hasWeights: boolean;
  /** Layers that QAT with default settings would refuse (prepareQat's reasons). */
  unsupportedLayers: UnsupportedLayer[];
}

export interface ImportedModel {
  model: LayersModel;
  info: ModelInfo;
}

interface Checked {
  format: ModelFormat;
  topology: JsonObject;
  params: number;
  inputShape: number[];
  outputShape: number[];
  outputActivation: string;
  weights: WeightPayload | null;
}

const separateManifest = (raw: unknown, maxBytes: number): Json | undefined =>
  raw === undefined ? undefined : readJsonValue(raw, maxBytes, 'the weights manifest');

/** Everything that can refuse a model, on its JSON and byte lengths: allocates no tensor. */
function check(source: ModelSource, limits: ModelLimits): Checked {
  const lim = resolveModelLimits(limits);
  const document = splitDocument(readJsonDocument(source.modelJson, lim.maxJsonBytes));
  if (document.manifest !== undefined && source.weightsManifest !== undefined) {
    refuse([weightsProblem('the model JSON has its own weightsManifest: give no separate manifest')]);
  }
  const manifest = document.manifest ?? separateManifest(source.weightsManifest, lim.maxJsonBytes);
  if (manifest === undefined && source.weights !== undefined && source.weights.size > 0) {
    refuse([weightsProblem(`${source.weights.size} weight file(s) given, but there is no weights manifest to say what they hold`)]);
  }

  const { topology, problems } = normalizeTopology(cloneJson(document.topology));
  refuse(problems);
  const graph = readGraph(topology, lim.maxLayers);
  const inferred = inferShapes(graph);
  if (inferred.params > lim.maxParams) {
    refuse([modelProblem(`the model has ${inferred.params} parameters, over the limit of ${lim.maxParams}`)]);
  }
  let weights: WeightPayload | null = null;
  if (manifest !== undefined) {
    const groups = parseManifest(manifest, lim.maxFiles);
    const matched = matchWeights(groups, inferred);
    weights = readWeightFiles(groups, matched, source.weights ?? new Map(), lim.maxWeightBytes);
  }
  const { params, inputShape, outputShape, outputActivation } = inferred;
  return { format: document.format, topology, params, inputShape, outputShape, outputActivation, weights };
}

export async function importModel(source: ModelSource, limits: ModelLimits): Promise<ImportedModel> {
  const checked = check(source, limits);
  const model = await buildLayersModel(checked.topology, checked.weights);
  // The count that was checked against the limit must be the model's: a disagreement is a bug here.
  const built = { params: model.countParams(), output: (model.outputs[0]!.shape as number[]).slice(1) };
  if (built.params !== checked.params || formatShape(built.output) !== formatShape(checked.outputShape)) {
    model.dispose();
    throw new Error(
      `internal: the importer inferred ${checked.params} parameters and output ${formatShape(checked.outputShape)}, TF.js built ${built.params} and ${formatShape(built.output)}`,
    );
  }
  const info: ModelInfo = {
    format: checked.format,
    name: model.name,
    params: checked.params,
    layers: model.layers.map((l) => ({ name: l.name, className: l.getClassName() })),
    inputShape: checked.inputShape,
    outputShape: checked.outputShape,
    outputActivation: checked.outputActivation,
    hasWeights: checked.weights !== null,
    unsupportedLayers: findUnsupportedLayers(model),
  };
  return { model, info };
}

/**
 * The weight files a model JSON needs, for a reader that must fetch them before importModel: normalised
 * paths relative to the JSON, each checked to stay inside its folder. `json` is what importModel takes.
 */
export function weightFilesOf(modelJson: unknown, weightsManifest: unknown, limits: ModelLimits): string[] {
  const lim = resolveModelLimits(limits);
  const document = splitDocument(readJsonDocument(modelJson, lim.maxJsonBytes));
  const manifest = document.manifest ?? separateManifest(weightsManifest, lim.maxJsonBytes);
  return manifest === undefined ? [] : manifestPaths(manifest, lim.maxFiles);
}
