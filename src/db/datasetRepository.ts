// Uploaded datasets. A row exists only once its files are stored and validated, and it owns the blob
// prefix in `storage_key` (`datasets/<id>/`). `options` holds what a worker needs to parse the files again
// exactly as the upload was validated (the parsing options and the file list) and the parts of the
// summary that have no column (sample shape, class names, test samples); see DatasetRecordOptions.
import type { Db } from './client.js';
import { Prisma } from './generated/client.js';
import { deleteUnlessUsed, type PageQuery, pageWhere, type ResourceDeletion } from './resourcePaging.js';

export interface DatasetRecordFile {
  key: string;
  name: string;
  size_bytes: number;
  sha256: string;
}

/** The `options` column: snake_case JSON, read back by workers. */
export interface DatasetRecordOptions {
  /** The parsing options given with the upload (absent ones were inferred). */
  parse: { format?: string; label_column?: string; skip_rows?: number; task?: string };
  files: DatasetRecordFile[];
  sample_shape: number[];
  /** Samples of a test set the upload brought (an IDX set's t10k files), else null. */
  test_samples: number | null;
  class_names?: string[];
  /** Regression targets per sample; absent for classification. */
  targets?: number;
  /** How raw values become x before the pipeline (e.g. "uint8 / 255"). */
  scale?: string;
}

export interface StoredDataset {
  id: string;
  tenantId: string;
  name: string;
  format: string;
  task: string;
  sha256: string;
  sizeBytes: number;
  samples: number;
  features: number;
  classes: number | null;
  options: DatasetRecordOptions;
  storageKey: string;
  createdAt: Date;
}

export type NewDataset = Omit<StoredDataset, 'createdAt'>;

export interface DatasetRepository {
  create(input: NewDataset): Promise<StoredDataset>;
  find(tenantId: string, id: string): Promise<StoredDataset | null>;
  /** Newest first, `limit` rows after the position (exclusive). */
  list(tenantId: string, page: PageQuery): Promise<StoredDataset[]>;
  /** Deletes the row unless a job references it; the blobs are the caller's to remove. */
  delete(tenantId: string, id: string): Promise<ResourceDeletion>;
}

type Row = Prisma.DatasetGetPayload<object>;

const toStored = (r: Row): StoredDataset => ({
  id: r.id,
  tenantId: r.tenantId,
  name: r.name,
  format: r.format,
  task: r.task,
  sha256: r.sha256,
  sizeBytes: Number(r.sizeBytes),
  samples: r.samples,
  features: r.features,
  classes: r.classes,
  options: r.options as unknown as DatasetRecordOptions,
  storageKey: r.storageKey,
  createdAt: r.createdAt,
});

export function datasetRepository(db: Db): DatasetRepository {
  return {
    async create(input) {
      const row = await db.dataset.create({
        data: { ...input, sizeBytes: BigInt(input.sizeBytes), options: input.options as unknown as Prisma.InputJsonValue },
      });
      return toStored(row);
    },
    async find(tenantId, id) {
      const row = await db.dataset.findFirst({ where: { id, tenantId } });
      return row ? toStored(row) : null;
    },
    async list(tenantId, page) {
      const rows = await db.dataset.findMany({
        where: { tenantId, ...pageWhere(page.after) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.limit,
      });
      return rows.map(toStored);
    },
    delete: (tenantId, id) =>
      deleteUnlessUsed(db, { datasetId: id }, {
        find: (tx) => tx.dataset.findFirst({ where: { id, tenantId }, select: { storageKey: true } }),
        remove: (tx) => tx.dataset.delete({ where: { id } }),
      }),
  };
}
