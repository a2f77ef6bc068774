// Shared by the model-import tests: models saved the way TF.js saves them, fixture files, and a check
// that a refusal allocated nothing at all (not even something it freed again).
import { readFileSync } from 'node:fs';
import type * as tfl from '@tensorflow/tfjs-layers';
import { expect } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { ModelError } from '../../../src/data/model/index.js';

export const FIXTURES = new URL('../../fixtures/models/', import.meta.url);

export const fixtureBytes = (file: string) => new Uint8Array(readFileSync(new URL(file, FIXTURES)));
export const fixtureJson = <T = Record<string, unknown>>(file: string): T => JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as T;

export interface Saved {
  /** model.json as model.save writes it (weightSpecs moved into a weightsManifest). */
  json: { modelTopology: unknown; format?: string; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  weights: Map<string, Uint8Array>;
  specs: tf.io.WeightsManifestEntry[];
  data: Uint8Array;
}

/** Saves through model.save, the weight data split into `shards` files as the converter shards it. */
export async function saveModel(model: tfl.LayersModel, shards = 1): Promise<Saved> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const data = new Uint8Array(artifacts!.weightData as ArrayBuffer);
  const size = Math.ceil(data.byteLength / shards);
  const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);
  const weights = new Map(paths.map((p, i) => [p, data.slice(i * size, (i + 1) * size)]));
  const specs = artifacts!.weightSpecs!;
  return { json: { modelTopology: artifacts!.modelTopology, format: artifacts!.format, weightsManifest: [{ paths, weights: specs }] }, weights, specs, data };
}

/** The id the next tensor will get: unchanged across a call that allocated nothing. */
function nextTensorId(): number {
  const probe = tf.scalar(0);
  probe.dispose();
  return probe.id + 1;
}

/** Runs an import that must be refused, checks nothing was allocated, and returns the error. */
export async function refusal(run: () => Promise<unknown> | unknown): Promise<ModelError> {
  const id = nextTensorId();
  const tensors = tf.memory().numTensors;
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected the model to be refused').toBeInstanceOf(ModelError);
  expect(tf.memory().numTensors).toBe(tensors);
  expect(nextTensorId(), 'a tensor was allocated before the refusal').toBe(id + 1);
  return error as ModelError;
}

/** The one problem of a refusal, or the one about `field` matching `reason`. */
export function problem(e: ModelError, field: string, reason: RegExp): void {
  expect(e.fields.some((f) => f.field === field && reason.test(f.reason)), `no ${field} problem matching ${reason} in ${JSON.stringify(e.fields)}`).toBe(true);
}

export function predict(model: tfl.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
}
