// Inspecting an upload parses all of it: a 20,000-row MNIST CSV is ~50 MB of text and seconds of CPU, an
// IDX or NPZ file is decoded in one synchronous pass, and a model is built by TF.js. Done on the API's
// thread that would stall every other request, so each inspection runs in its own worker thread
// (node:worker_threads): the API thread only streams bytes to the store and waits for a small summary.
// A thread per inspection (not a pool) costs its start-up (tens of ms from dist/, more from sources) but
// frees everything the parse allocated when it exits, and a crash in it fails only that upload.
// At most `maxThreads` run at once; more uploads wait for a slot.
//
// The thread reopens the blob store from `dataDir` (LocalDiskStore, the store the composition root
// builds); another BlobStore implementation needs its own opener here.
import { Worker } from 'node:worker_threads';
import type { ArchiveLimits } from '../../data/archive/limits.js';
import type { DataLimits } from '../../data/errors.js';
import { DatasetError } from '../../data/errors.js';
import { ModelError } from '../../data/model/errors.js';
import type { DatasetInspector, DatasetParseOptions, DatasetSummary, StoredFileRef } from '../../services/datasets.js';
import type { ModelInspector, ModelSource, ModelSummary } from '../../services/models.js';
import type { BlobStore } from '../../storage/blobStore.js';
import { inspectZoo } from './zoo.js';

export type InspectionTask =
  | { kind: 'dataset'; files: StoredFileRef[]; options: DatasetParseOptions; limits: { archive?: ArchiveLimits; data?: DataLimits } }
  | { kind: 'model'; source: ModelSource; limits: { maxParams: number; archive?: ArchiveLimits } };

export interface InspectionRequest {
  dataDir: string;
  task: InspectionTask;
}

export type InspectionResponse =
  | { ok: true; result: DatasetSummary | ModelSummary; ms: number }
  | { ok: false; error: { kind: 'validation'; code: string; message: string; fields: { field: string; reason: string }[] } | { kind: 'internal'; name: string; message: string } };

export interface InspectionThreadsOptions {
  /** Root of the LocalDiskStore the uploads are in (DATA_DIR). */
  dataDir: string;
  /** Inspections running at once (default 2). */
  maxThreads?: number;
  archiveLimits?: ArchiveLimits;
  dataLimits?: DataLimits;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');

function spawn(request: InspectionRequest): Worker {
  if (!FROM_SOURCE) return new Worker(new URL('./inspectThread.js', import.meta.url), { workerData: request });
  // Running from TypeScript sources (tests, `tsx src/cli/main.ts`): the thread registers tsx before
  // importing its entry, as a worker's own --import hooks do not apply to its entry module on Node 20.
  const entry = new URL('./inspectThread.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true, workerData: request });
}

function rebuild(error: Extract<InspectionResponse, { ok: false }>['error']): Error {
  if (error.kind === 'internal') return new Error(`inspection failed: ${error.name}: ${error.message}`);
  const [first] = error.fields;
  if (error.code === 'INVALID_DATASET' && error.fields.length === 1 && first) return new DatasetError(first.field, first.reason);
  return new ModelError(error.fields, error.code);
}

export class InspectionThreads {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly maxThreads: number;
  /** Milliseconds each of the last inspections took inside its thread (newest last; for logs and tests). */
  readonly timings: number[] = [];

  constructor(readonly options: InspectionThreadsOptions) {
    this.maxThreads = options.maxThreads ?? 2;
  }

  private async slot(): Promise<() => void> {
    if (this.running >= this.maxThreads) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    return () => {
      this.running--;
      this.waiting.shift()?.();
    };
  }

  async run<T>(task: InspectionTask): Promise<T> {
    const release = await this.slot();
    try {
      const response = await new Promise<InspectionResponse>((resolve, reject) => {
        const worker = spawn({ dataDir: this.options.dataDir, task });
        let settled = false;
        worker.once('message', (m: InspectionResponse) => {
          settled = true;
          resolve(m);
          void worker.terminate();
        });
        worker.once('error', (err) => {
          settled = true;
          reject(err);
        });
        worker.once('exit', (code) => {
          if (!settled) reject(new Error(`inspection thread exited with code ${code} before answering`));
        });
      });
      if (!response.ok) throw rebuild(response.error);
      this.timings.push(response.ms);
      if (this.timings.length > 20) this.timings.shift();
      return response.result as T;
    } finally {
      release();
    }
  }
}

/** DatasetInspector for the API: parses in a worker thread. */
export class ThreadedDatasetInspector implements DatasetInspector {
  constructor(private readonly threads: InspectionThreads) {}

  inspect(files: StoredFileRef[], options: DatasetParseOptions): Promise<DatasetSummary> {
    const { archiveLimits, dataLimits } = this.threads.options;
    return this.threads.run({ kind: 'dataset', files, options, limits: { ...(archiveLimits ? { archive: archiveLimits } : {}), ...(dataLimits ? { data: dataLimits } : {}) } });
  }
}

/** ModelInspector for the API: imports in a worker thread (a zoo name needs no thread). */
export class ThreadedModelInspector implements ModelInspector {
  constructor(private readonly threads: InspectionThreads) {}

  async inspect(source: ModelSource, limits: { maxParams: number }): Promise<ModelSummary> {
    if (source.kind === 'zoo') return inspectZoo(source.zoo, source.width);
    const { archiveLimits } = this.threads.options;
    return this.threads.run({ kind: 'model', source, limits: { ...limits, ...(archiveLimits ? { archive: archiveLimits } : {}) } });
  }
}

/** The same inspections on the calling thread (CLI, tests). Model inspection needs an active TF.js backend. */
export class InProcessDatasetInspector implements DatasetInspector {
  constructor(private readonly store: BlobStore) {}

  async inspect(files: StoredFileRef[], options: DatasetParseOptions): Promise<DatasetSummary> {
    const { inspectStoredDataset } = await import('./datasetInspector.js');
    return inspectStoredDataset(this.store, files, options);
  }
}

export class InProcessModelInspector implements ModelInspector {
  constructor(private readonly store: BlobStore) {}

  async inspect(source: ModelSource, limits: { maxParams: number }): Promise<ModelSummary> {
    if (source.kind === 'zoo') return inspectZoo(source.zoo, source.width);
    // Loaded on first use, so a process that never imports a model never loads TF.js.
    const { inspectStoredModel } = await import('./modelInspector.js');
    return inspectStoredModel(this.store, source, limits);
  }
}
