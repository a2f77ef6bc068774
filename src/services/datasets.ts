// Dataset use cases behind /v1/datasets: upload (store, validate with the parsers `qat run` uses, record),
// read, list, delete. Parsing is not done here: a DatasetInspector, injected by the composition root,
// reads the stored files (src/workers/inspect runs the src/data parsers off the API's event loop).
//
// Invariant: a dataset row exists only with all its blobs, and no blob outlives a failed upload: the
// files are stored first under `datasets/<id>/`, then inspected, then the row is inserted; any failure
// on the way removes the prefix. (A process killed between the put and the insert can leave a prefix
// without a row; nothing refers to it.)
import { randomUUID } from 'node:crypto';
import type { DatasetRecordOptions, DatasetRepository, StoredDataset } from '../db/datasetRepository.js';
import type { ResourceDeletion } from '../db/resourcePaging.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import type { BlobStore } from '../storage/blobStore.js';
import type { Principal } from './apiKeys.js';
import { decodePageToken, encodePageToken } from './pageToken.js';
import { type StoredFileRef, UploadSession } from './uploads.js';

export type { StoredFileRef } from './uploads.js';

/** `format` overrides what the file name says: `archive` is a .zip/.tar/.tar.gz of one dataset (told from its bytes). */
export const DATASET_FORMATS = ['csv', 'tsv', 'jsonl', 'npz', 'idx', 'archive'] as const;
export type DatasetFormatOption = (typeof DATASET_FORMATS)[number];
export const TASKS = ['classification', 'regression'] as const;
export type TaskName = (typeof TASKS)[number];

/** The data options of `qat run` that say how to read the files (snake_case over HTTP). */
export interface DatasetParseOptions {
  format?: DatasetFormatOption;
  labelColumn?: string;
  skipRows?: number;
  task?: TaskName;
}

/** What parsing the files found. */
export interface DatasetSummary {
  /** How the files were read: `csv`, `npz`, `idx`, `idx in tar.gz`, `csv in zip`, … */
  format: string;
  task: TaskName;
  /** Every sample, a given test set's included. */
  samples: number;
  /** Samples of the test set the upload brought (an IDX set's t10k files), else null. */
  testSamples: number | null;
  /** Values per sample (the product of sampleShape). */
  features: number;
  sampleShape: number[];
  /** Classes of a classification set (largest label + 1); null for regression. */
  classes: number | null;
  classNames?: string[];
  /** Regression targets per sample. */
  targets?: number;
  /** How raw values became x (e.g. "uint8 / 255"). */
  scale?: string;
}

/** Parses stored files with the dataset parsers; throws a ValidationError (code INVALID_DATASET) naming the problem. */
export interface DatasetInspector {
  inspect(files: StoredFileRef[], options: DatasetParseOptions): Promise<DatasetSummary>;
}

/** A stored dataset as the API shows it: its summary (without the parse details) and its identity. */
export interface DatasetView extends Omit<DatasetSummary, 'targets' | 'scale'> {
  id: string;
  name: string;
  sha256: string;
  sizeBytes: number;
  createdAt: Date;
}

export interface PageRequest {
  pageSize?: number;
  pageToken?: string;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string | null;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const view = (d: StoredDataset): DatasetView => ({
  id: d.id,
  name: d.name,
  sha256: d.sha256,
  sizeBytes: d.sizeBytes,
  format: d.format,
  task: d.task as TaskName,
  samples: d.samples,
  testSamples: d.options.test_samples ?? null,
  features: d.features,
  sampleShape: d.options.sample_shape,
  classes: d.classes,
  ...(d.options.class_names ? { classNames: d.options.class_names } : {}),
  createdAt: d.createdAt,
});

/** What a job worker gives loadStoredDataset (src/workers/inspect) to read a dataset exactly as its upload was validated. */
export function storedDatasetInput(d: StoredDataset): { files: StoredFileRef[]; options: DatasetParseOptions } {
  const p = d.options.parse;
  return {
    files: d.options.files.map((f) => ({ key: f.key, name: f.name })),
    options: {
      ...(p.format !== undefined ? { format: p.format as DatasetFormatOption } : {}),
      ...(p.label_column !== undefined ? { labelColumn: p.label_column } : {}),
      ...(p.skip_rows !== undefined ? { skipRows: p.skip_rows } : {}),
      ...(p.task !== undefined ? { task: p.task as TaskName } : {}),
    },
  };
}

/** The 409 of deleting a dataset or model that jobs still reference (jobs hold it with ON DELETE RESTRICT). */
export function inUseError(resource: 'dataset' | 'model', id: string, deletion: Extract<ResourceDeletion, { outcome: 'in-use' }>): ConflictError {
  const running = deletion.active > 0 ? `, ${deletion.active} of them not finished` : '';
  return new ConflictError(
    `${resource} ${id} is used by ${deletion.jobs} job(s)${running}; delete those jobs first (a finished job keeps its inputs so its report stays reproducible)`,
    `${resource.toUpperCase()}_IN_USE`,
  );
}

export function pageQuery(request: PageRequest): { limit: number; after?: { createdAt: Date; id: string } } {
  const limit = request.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError([{ field: 'page_size', reason: `must be an integer from 1 to ${MAX_PAGE_SIZE}` }]);
  }
  return { limit: limit + 1, ...(request.pageToken ? { after: decodePageToken(request.pageToken) } : {}) };
}

/** Rows fetched with one extra (see pageQuery) as a page and the token of the next one. */
export function toPage<R extends { createdAt: Date; id: string }, T>(rows: R[], request: PageRequest, map: (r: R) => T): Page<T> {
  const limit = request.pageSize ?? DEFAULT_PAGE_SIZE;
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), nextPageToken: rows.length > limit && last ? encodePageToken({ createdAt: last.createdAt, id: last.id }) : null };
}

export interface DatasetServiceDeps {
  repo: DatasetRepository;
  store: BlobStore;
  inspector: DatasetInspector;
  /** MAX_UPLOAD_BYTES: all files of one upload together. */
  maxUploadBytes: number;
  /** Told when the blobs of a deleted or refused upload could not be removed (unreachable, not harmful). */
  onCleanupError?: (prefix: string, err: unknown) => void;
}

/** One upload in progress: files are added as the request streams them, then `finish` validates and records. */
export class DatasetUpload {
  constructor(
    private readonly session: UploadSession,
    private readonly principal: Principal,
    private readonly deps: DatasetServiceDeps,
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

  /** Validates the stored files and records the dataset; on any failure the stored files are removed. */
  async finish(input: { name?: string; options: DatasetParseOptions }): Promise<DatasetView> {
    try {
      const files = this.session.files;
      if (files.length === 0) throw new ValidationError([{ field: 'file', reason: 'no file was uploaded: send the dataset in a part named file' }]);
      const summary = await this.deps.inspector.inspect(
        files.map(({ key, name }) => ({ key, name })),
        input.options,
      );
      const o = input.options;
      const options: DatasetRecordOptions = {
        parse: {
          ...(o.format !== undefined ? { format: o.format } : {}),
          ...(o.labelColumn !== undefined ? { label_column: o.labelColumn } : {}),
          ...(o.skipRows !== undefined ? { skip_rows: o.skipRows } : {}),
          ...(o.task !== undefined ? { task: o.task } : {}),
        },
        files: files.map((f) => ({ key: f.key, name: f.name, size_bytes: f.sizeBytes, sha256: f.sha256 })),
        sample_shape: summary.sampleShape,
        test_samples: summary.testSamples,
        ...(summary.classNames ? { class_names: summary.classNames } : {}),
        ...(summary.targets !== undefined ? { targets: summary.targets } : {}),
        ...(summary.scale !== undefined ? { scale: summary.scale } : {}),
      };
      const name = input.name ?? (files.length === 1 ? files[0]!.name : `${files[0]!.name} (+${files.length - 1} more)`);
      const stored = await this.deps.repo.create({
        id: this.session.id,
        tenantId: this.principal.tenantId,
        name,
        format: summary.format,
        task: summary.task,
        sha256: this.session.sha256,
        sizeBytes: this.session.sizeBytes,
        samples: summary.samples,
        features: summary.features,
        classes: summary.classes,
        options,
        storageKey: this.session.prefix,
      });
      return view(stored);
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

export class DatasetService {
  constructor(private readonly deps: DatasetServiceDeps) {}

  beginUpload(principal: Principal, id: string = randomUUID()): DatasetUpload {
    return new DatasetUpload(new UploadSession(this.deps.store, 'datasets', id, this.deps.maxUploadBytes), principal, this.deps);
  }

  async get(principal: Principal, id: string): Promise<DatasetView> {
    const found = await this.deps.repo.find(principal.tenantId, id);
    if (!found) throw new NotFoundError('dataset', id);
    return view(found);
  }

  async list(principal: Principal, request: PageRequest): Promise<Page<DatasetView>> {
    const rows = await this.deps.repo.list(principal.tenantId, pageQuery(request));
    return toPage(rows, request, view);
  }

  /** Refused (409) while any job references the dataset; removes the row, then its files. */
  async delete(principal: Principal, id: string): Promise<void> {
    const result = await this.deps.repo.delete(principal.tenantId, id);
    if (result.outcome === 'not-found') throw new NotFoundError('dataset', id);
    if (result.outcome === 'in-use') throw inUseError('dataset', id, result);
    await this.deps.store.deletePrefix(result.storageKey).catch((err: unknown) => this.deps.onCleanupError?.(result.storageKey, err));
  }
}
