// Model use cases behind /v1/models: upload a TF.js LayersModel (model.json + weight files, or an archive
// of them) or a Keras JSON, or name a zoo architecture; read, list, delete. Importing is not done here:
// a ModelInspector, injected by the composition root, checks the stored files with src/data/model's
// importModel (parameter limit and weight byte lengths checked before any tensor exists) off the API's
// event loop, and disposes of the model it built.
//
// Same invariant as datasets: a row exists only with all its blobs; a failed upload leaves nothing.
import { randomUUID } from 'node:crypto';
import type { ModelRecordInfo, ModelRepository, StoredModel } from '../db/modelRepository.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { BlobStore } from '../storage/blobStore.js';
import type { Principal } from './apiKeys.js';
import { inUseError, type Page, type PageRequest, pageQuery, toPage } from './datasets.js';
import { type StoredFileRef, UploadSession } from './uploads.js';

export type { StoredFileRef } from './uploads.js';

export const MODEL_FORMATS = ['zoo', 'tfjs-layers', 'keras-json'] as const;
export type ModelFormatName = (typeof MODEL_FORMATS)[number];

export type ModelSource = { kind: 'zoo'; zoo: string; width: number } | { kind: 'files'; files: StoredFileRef[] };

export interface ModelLayer {
  name: string;
  className: string;
}

export interface ModelSummary {
  format: ModelFormatName;
  /** The model's own name (Keras `name`), or `zoo:NAME`. */
  name: string;
  /** null for a zoo model: its size depends on the dataset it is built for. */
  params: number | null;
  layers: ModelLayer[];
  inputShape: number[] | null;
  outputShape: number[] | null;
  outputActivation: string | null;
  hasWeights: boolean;
  unsupportedLayers: (ModelLayer & { reason: string })[];
  zoo?: { name: string; width: number };
  /** Which of the stored files is the model JSON, the separate manifest and the weights. */
  roles?: { model: string; manifest?: string; weights: string[]; archive?: string };
}

/** Checks a model; throws a ValidationError (INVALID_MODEL) naming `model`, `weights`, `zoo` or `file`. */
export interface ModelInspector {
  inspect(source: ModelSource, limits: { maxParams: number }): Promise<ModelSummary>;
}

export interface ModelView {
  id: string;
  name: string;
  format: ModelFormatName;
  sha256: string;
  sizeBytes: number;
  params: number | null;
  layers: ModelLayer[];
  inputShape: number[] | null;
  outputShape: number[] | null;
  hasWeights: boolean;
  zoo: { name: string; width: number } | null;
  unsupportedLayers: (ModelLayer & { reason: string })[];
  createdAt: Date;
}

const view = (m: StoredModel): ModelView => ({
  id: m.id,
  name: m.name,
  format: m.format as ModelFormatName,
  sha256: m.sha256,
  sizeBytes: m.sizeBytes,
  params: m.format === 'zoo' ? null : m.params,
  layers: m.info.layers.map((l) => ({ name: l.name, className: l.class_name })),
  inputShape: m.inputShape,
  outputShape: m.info.output_shape,
  hasWeights: m.info.has_weights,
  zoo: m.info.zoo ?? null,
  unsupportedLayers: m.info.unsupported_layers.map((l) => ({ name: l.name, className: l.class_name, reason: l.reason })),
  createdAt: m.createdAt,
});

export interface ModelServiceDeps {
  repo: ModelRepository;
  store: BlobStore;
  inspector: ModelInspector;
  maxUploadBytes: number;
  /** MAX_MODEL_PARAMS. */
  maxParams: number;
  onCleanupError?: (prefix: string, err: unknown) => void;
}

const ARCHIVE = /\.(zip|tar|tgz|tar\.gz)$/i;

async function record(session: UploadSession, principal: Principal, deps: ModelServiceDeps, summary: ModelSummary, name: string | undefined): Promise<ModelView> {
  const info: ModelRecordInfo = {
    layers: summary.layers.map((l) => ({ name: l.name, class_name: l.className })),
    output_shape: summary.outputShape,
    output_activation: summary.outputActivation,
    has_weights: summary.hasWeights,
    unsupported_layers: summary.unsupportedLayers.map((l) => ({ name: l.name, class_name: l.className, reason: l.reason })),
    ...(summary.zoo ? { zoo: summary.zoo } : {}),
    files: session.files.map((f) => ({ key: f.key, name: f.name, size_bytes: f.sizeBytes, sha256: f.sha256 })),
    ...(summary.roles ? { roles: summary.roles } : {}),
  };
  const archive = summary.roles?.archive;
  const stored = await deps.repo.create({
    id: session.id,
    tenantId: principal.tenantId,
    name: name ?? (archive ? archive.replace(ARCHIVE, '') : summary.name),
    format: summary.format,
    sha256: session.sha256,
    sizeBytes: session.sizeBytes,
    params: summary.params ?? 0,
    info,
    inputShape: summary.inputShape,
    storageKey: session.prefix,
  });
  return view(stored);
}

export class ModelUpload {
  constructor(
    private readonly session: UploadSession,
    private readonly principal: Principal,
    private readonly deps: ModelServiceDeps,
  ) {}

  get id(): string {
    return this.session.id;
  }

  get fileCount(): number {
    return this.session.files.length;
  }

  async addFile(name: string | undefined, source: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
    await this.session.addFile(name, source);
  }

  async finish(input: { name?: string }): Promise<ModelView> {
    try {
      const files = this.session.files;
      if (files.length === 0) throw new ValidationError([{ field: 'file', reason: 'no file was uploaded: send model.json and its weight files (or an archive of them, or a Keras JSON) in parts named file' }]);
      const summary = await this.deps.inspector.inspect({ kind: 'files', files: files.map(({ key, name }) => ({ key, name })) }, { maxParams: this.deps.maxParams });
      return await record(this.session, this.principal, this.deps, summary, input.name);
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Removes what was stored; a failure to remove is reported, never thrown over the upload's own error. */
  async abort(): Promise<void> {
    await this.session.discard(this.deps.onCleanupError);
  }
}

export class ModelService {
  constructor(private readonly deps: ModelServiceDeps) {}

  beginUpload(principal: Principal, id: string = randomUUID()): ModelUpload {
    return new ModelUpload(new UploadSession(this.deps.store, 'models', id, this.deps.maxUploadBytes), principal, this.deps);
  }

  /**
   * A zoo architecture: stored as its spec (`zoo.json`, which the sha256 covers) and built at job time
   * for the job's dataset, so it has no input shape or parameter count until then.
   */
  async createZoo(principal: Principal, input: { zoo: string; width?: number; name?: string }): Promise<ModelView> {
    const width = input.width ?? 1;
    const summary = await this.deps.inspector.inspect({ kind: 'zoo', zoo: input.zoo, width }, { maxParams: this.deps.maxParams });
    const session = new UploadSession(this.deps.store, 'models', randomUUID(), this.deps.maxUploadBytes);
    try {
      await session.addFile('zoo.json', new TextEncoder().encode(JSON.stringify({ zoo: input.zoo, width })));
      return await record(session, principal, this.deps, summary, input.name);
    } catch (err) {
      await session.discard(this.deps.onCleanupError);
      throw err;
    }
  }

  async get(principal: Principal, id: string): Promise<ModelView> {
    const found = await this.deps.repo.find(principal.tenantId, id);
    if (!found) throw new NotFoundError('model', id);
    return view(found);
  }

  async list(principal: Principal, request: PageRequest): Promise<Page<ModelView>> {
    const rows = await this.deps.repo.list(principal.tenantId, pageQuery(request));
    return toPage(rows, request, view);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    const result = await this.deps.repo.delete(principal.tenantId, id);
    if (result.outcome === 'not-found') throw new NotFoundError('model', id);
    if (result.outcome === 'in-use') throw inUseError('model', id, result);
    await this.deps.store.deletePrefix(result.storageKey).catch((err: unknown) => this.deps.onCleanupError?.(result.storageKey, err));
  }
}
