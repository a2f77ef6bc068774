// Loads a TF.js artifact the way tf.loadLayersModel reads a served model: model.json parsed from its
// text, the shards fetched by the paths its weights manifest names and concatenated in order. Only the
// file access is replaced (an IOHandler over an in-memory file map), nothing TF.js decodes.
import * as tfl from '@tensorflow/tfjs-layers';
import type * as tf from '../../../src/core/tf.js';
import type { TfjsArtifact } from '../../../src/export/index.js';
import { TFJS_WEIGHTS_PATH } from '../../../src/export/index.js';

export function artifactFiles(a: TfjsArtifact): Map<string, Uint8Array | string> {
  return new Map<string, Uint8Array | string>([
    ['model.json', JSON.stringify(a.modelJson)],
    [TFJS_WEIGHTS_PATH, a.weights],
  ]);
}

export function fileHandler(files: Map<string, Uint8Array | string>): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(files.get('model.json') as string) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format: string; generatedBy: string; convertedBy: string };
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const shards = json.weightsManifest.flatMap((g) => g.paths).map((p) => {
        const bytes = files.get(p);
        if (!(bytes instanceof Uint8Array)) throw new Error(`shard ${p} missing`);
        return bytes;
      });
      const total = shards.reduce((n, s) => n + s.length, 0);
      const data = new Uint8Array(total);
      let at = 0;
      for (const s of shards) {
        data.set(s, at);
        at += s.length;
      }
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy };
    },
  };
}

export function loadFromFiles(files: Map<string, Uint8Array | string>): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(fileHandler(files));
}
