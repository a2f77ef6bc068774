// Checks an uploaded model from the blob store with src/data/model's importModel, the importer `qat run`
// uses: a TF.js LayersModel (model.json + its weight files), a Keras JSON (with or without a separate TF.js
// weights manifest and its files), or a .zip/.tar/.tar.gz of those. The parameter limit and the weight
// files' byte lengths are checked on the JSON and the sizes alone, before a tensor exists; the model TF.js
// builds to prove the rest is disposed of before returning. A zoo spec is only checked by name here:
// its model is built at job time for the job's dataset.
//
// Needs a TF.js backend to be active (the inspection thread activates the CPU backend).
import { posix } from 'node:path';
import { readArchive } from '../../data/archive/readArchive.js';
import type { ArchiveLimits } from '../../data/archive/limits.js';
import { DatasetError } from '../../data/errors.js';
import { type ImportedModel, importModel, ModelError, type ModelLimits, weightFilesOf } from '../../data/model/index.js';
import type { ModelSource, ModelSummary, StoredFileRef } from '../../services/models.js';
import type { BlobStore } from '../../storage/blobStore.js';
import { inspectZoo } from './zoo.js';

const ARCHIVE = /\.(zip|tar|tgz|tar\.gz)$/i;

const refuse = (field: string, reason: string): never => {
  throw new ModelError([{ field, reason }]);
};

const isJunk = (p: string) => p.split('/').some((s) => s.startsWith('.') || s === '__MACOSX');

/** The first non-blank byte: `{` starts a model JSON, `[` a weights manifest. */
function firstChar(bytes: Uint8Array): string {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  return i < bytes.length ? String.fromCharCode(bytes[i]!) : '';
}

interface ModelFiles {
  /** Every file by path (archive entry path, or upload file name). */
  files: Map<string, Uint8Array>;
  archive?: string;
}

async function readFiles(store: BlobStore, refs: StoredFileRef[], archiveLimits?: ArchiveLimits): Promise<ModelFiles> {
  if (refs.length === 1 && ARCHIVE.test(refs[0]!.name)) {
    const ref = refs[0]!;
    try {
      const files = await readArchive(await store.stream(ref.key), { name: ref.name, ...(archiveLimits ? { limits: archiveLimits } : {}) });
      return { files, archive: ref.name };
    } catch (err) {
      // The archive reader speaks of datasets; the same refusal, as a model's.
      if (err instanceof DatasetError) throw new ModelError(err.fields.map((f) => ({ field: 'file', reason: `${f.field}: ${f.reason}` })));
      throw err;
    }
  }
  const files = new Map<string, Uint8Array>();
  for (const ref of refs) files.set(ref.name, await store.read(ref.key));
  return { files };
}

interface Picked {
  model: string;
  manifest?: string;
}

/** Which JSON is the model and which (if any) a separate weights manifest. */
function pickJson(files: Map<string, Uint8Array>): Picked {
  const json = [...files.keys()].filter((p) => !isJunk(p) && /\.json$/i.test(p));
  const models = json.filter((p) => firstChar(files.get(p)!) === '{');
  const manifests = json.filter((p) => firstChar(files.get(p)!) === '[');
  const listing = [...files.keys()].slice(0, 20).join(', ') || 'no files';
  if (models.length === 0) {
    return refuse('model', `no model JSON among the files (${listing}): send a TF.js model.json with its weight files, a Keras JSON, or an archive of them`);
  }
  let model = models[0]!;
  if (models.length > 1) {
    const named = models.filter((p) => posix.basename(p).toLowerCase() === 'model.json');
    if (named.length !== 1) return refuse('model', `${models.length} JSON objects could each be the model (${models.join(', ')}): send one, or name it model.json`);
    model = named[0]!;
  }
  if (manifests.length > 1) return refuse('weights', `${manifests.length} weights manifests (${manifests.join(', ')}): send at most one`);
  return { model, ...(manifests[0] !== undefined ? { manifest: manifests[0] } : {}) };
}

/** Files relative to a folder (the one the manifest's paths are relative to); files outside it are not offered. */
function relativeTo(dir: string, files: Map<string, Uint8Array>, skip: Set<string>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [p, bytes] of files) {
    if (skip.has(p) || isJunk(p)) continue;
    const rel = dir === '.' ? p : p.startsWith(`${dir}/`) ? p.slice(dir.length + 1) : null;
    if (rel !== null) out.set(rel, bytes);
  }
  return out;
}

/** Imports a stored model; the caller owns (and must dispose of) `model`. For job workers. */
export async function importStoredModel(store: BlobStore, refs: StoredFileRef[], limits: ModelLimits & { archive?: ArchiveLimits }): Promise<ImportedModel & { roles: NonNullable<ModelSummary['roles']> }> {
  const { files, archive } = await readFiles(store, refs, limits.archive);
  const picked = pickJson(files);
  const modelJson = files.get(picked.model)!;
  const weightsManifest = picked.manifest !== undefined ? files.get(picked.manifest)! : undefined;
  const dir = posix.dirname(picked.manifest ?? picked.model);
  const weights = relativeTo(dir, files, new Set([picked.model, ...(picked.manifest ? [picked.manifest] : [])]));
  const { archive: _archive, ...modelLimits } = limits;
  const needed = weightFilesOf(modelJson, weightsManifest, modelLimits);
  const imported = await importModel({ modelJson, weights, ...(weightsManifest ? { weightsManifest } : {}) }, modelLimits);
  const roles = {
    model: picked.model,
    ...(picked.manifest !== undefined ? { manifest: picked.manifest } : {}),
    weights: needed.map((p) => (dir === '.' ? p : `${dir}/${p}`)),
    ...(archive !== undefined ? { archive } : {}),
  };
  return { ...imported, roles };
}

/** The upload's validation: a zoo name, or the files imported, summarised and disposed of. */
export async function inspectStoredModel(store: BlobStore, source: ModelSource, limits: ModelLimits & { archive?: ArchiveLimits }): Promise<ModelSummary> {
  if (source.kind === 'zoo') return inspectZoo(source.zoo, source.width);
  const { model, info, roles } = await importStoredModel(store, source.files, limits);
  model.dispose();
  return {
    format: info.format,
    name: info.name,
    params: info.params,
    layers: info.layers,
    inputShape: info.inputShape,
    outputShape: info.outputShape,
    outputActivation: info.outputActivation,
    hasWeights: info.hasWeights,
    unsupportedLayers: info.unsupportedLayers,
    roles,
  };
}
