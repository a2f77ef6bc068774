// Reads a user's model from disk for `qat run` (src/data/model never touches the file system): a TF.js
// model.json with the weight files its manifest lists, relative to it, or a Keras JSON architecture,
// optionally with a separate TF.js weights manifest. Sizes are checked before anything is read, and a
// weight path may not leave the model's folder, not even through a symbolic link.
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { type ImportedModel, importModel, ModelError, type ModelLimits, resolveModelLimits, weightFilesOf } from '../../data/model/index.js';

export interface ModelFileOptions {
  /** A TF.js weights manifest (JSON) for a bare Keras JSON; its paths are relative to the manifest. */
  weightsManifest?: string;
}

const refuse = (field: string, reason: string): never => {
  throw new ModelError([{ field, reason }]);
};

async function readLimited(file: string, field: string, maxBytes: number): Promise<Uint8Array> {
  const info = await stat(file).catch(() => null);
  if (!info) return refuse(field, `${file} does not exist`);
  if (!info.isFile()) return refuse(field, `${file} is not a file`);
  if (info.size > maxBytes) return refuse(field, `${file} is ${info.size} bytes, over the limit of ${maxBytes} bytes`);
  return readFile(file);
}

/** The weight files, read only once each is known to lie inside `dir` and all fit the byte limit. */
async function readWeightFiles(dir: string, paths: string[], maxBytes: number): Promise<Map<string, Uint8Array>> {
  const root = await realpath(dir);
  const found: { rel: string; file: string; size: number }[] = [];
  for (const rel of paths) {
    const real = await realpath(path.resolve(dir, rel)).catch(() => null);
    if (real === null) continue; // importModel names every missing file
    const inside = path.relative(root, real);
    if (inside === '' || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) refuse('weights', `weight file '${rel}' resolves to ${real}, outside the model's folder ${root}`);
    const info = await stat(real);
    if (!info.isFile()) refuse('weights', `weight file '${rel}' is not a file`);
    found.push({ rel, file: real, size: info.size });
  }
  const total = found.reduce((s, f) => s + f.size, 0);
  if (total > maxBytes) refuse('weights', `the weight files take ${total} bytes, over the limit of ${maxBytes} bytes`);
  const files = new Map<string, Uint8Array>();
  for (const f of found) files.set(f.rel, await readFile(f.file));
  return files;
}

export async function loadModelFile(file: string, limits: ModelLimits, options: ModelFileOptions = {}): Promise<ImportedModel> {
  const lim = resolveModelLimits(limits);
  const modelJson = await readLimited(file, 'model', lim.maxJsonBytes);
  const manifestFile = options.weightsManifest;
  const weightsManifest = manifestFile === undefined ? undefined : await readLimited(manifestFile, 'weights', lim.maxJsonBytes);
  const paths = weightFilesOf(modelJson, weightsManifest, lim);
  const weights = await readWeightFiles(path.dirname(manifestFile ?? file), paths, lim.maxWeightBytes);
  return importModel({ modelJson, weights, ...(weightsManifest ? { weightsManifest } : {}) }, lim);
}
