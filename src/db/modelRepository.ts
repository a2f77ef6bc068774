// Uploaded models. A row exists only once its files are stored and validated; it owns the blob prefix in
// `storage_key` (`models/<id>/`).
//
// Column use: `params` is the parameter count (0 for a zoo model, whose size depends on the dataset it
// is built for); `input_shape` is one sample's shape without the batch axis, or JSON null for a zoo model
// (built at job time for the job's dataset); `layers` holds a ModelRecordInfo document — the layer list
// and the rest of the imported model's summary (output shape, weights present, the files and their roles)
// — because the schema has no other JSON column for models.
import type { Db } from './client.js';
import { Prisma } from './generated/client.js';
import { deleteUnlessUsed, type PageQuery, pageWhere, type ResourceDeletion } from './resourcePaging.js';

export interface ModelRecordFile {
  key: string;
  name: string;
  size_bytes: number;
  sha256: string;
}

/** The `layers` column: snake_case JSON, read back by workers. */
export interface ModelRecordInfo {
  layers: { name: string; class_name: string }[];
  output_shape: number[] | null;
  /** 'linear' (logits), 'softmax', …; null for a zoo model (always logits). */
  output_activation: string | null;
  has_weights: boolean;
  /** Layers QAT with default settings would refuse. */
  unsupported_layers: { name: string; class_name: string; reason: string }[];
  /** A zoo model: which architecture and width. */
  zoo?: { name: string; width: number };
  files: ModelRecordFile[];
  /** Which stored file holds what (names relative to the archive when `archive` is set). */
  roles?: { model: string; manifest?: string; weights: string[]; archive?: string };
}

export interface StoredModel {
  id: string;
  tenantId: string;
  name: string;
  format: string;
  sha256: string;
  sizeBytes: number;
  params: number;
  info: ModelRecordInfo;
  inputShape: number[] | null;
  storageKey: string;
  createdAt: Date;
}

export type NewModel = Omit<StoredModel, 'createdAt'>;

export interface ModelRepository {
  create(input: NewModel): Promise<StoredModel>;
  find(tenantId: string, id: string): Promise<StoredModel | null>;
  list(tenantId: string, page: PageQuery): Promise<StoredModel[]>;
  delete(tenantId: string, id: string): Promise<ResourceDeletion>;
}

type Row = Prisma.ModelGetPayload<object>;

const toStored = (r: Row): StoredModel => ({
  id: r.id,
  tenantId: r.tenantId,
  name: r.name,
  format: r.format,
  sha256: r.sha256,
  sizeBytes: Number(r.sizeBytes),
  params: Number(r.params),
  info: r.layers as unknown as ModelRecordInfo,
  inputShape: Array.isArray(r.inputShape) ? (r.inputShape as number[]) : null,
  storageKey: r.storageKey,
  createdAt: r.createdAt,
});

export function modelRepository(db: Db): ModelRepository {
  return {
    async create({ info, inputShape, sizeBytes, params, ...rest }) {
      const row = await db.model.create({
        data: {
          ...rest,
          sizeBytes: BigInt(sizeBytes),
          params: BigInt(params),
          layers: info as unknown as Prisma.InputJsonValue,
          inputShape: inputShape === null ? Prisma.JsonNull : inputShape,
        },
      });
      return toStored(row);
    },
    async find(tenantId, id) {
      const row = await db.model.findFirst({ where: { id, tenantId } });
      return row ? toStored(row) : null;
    },
    async list(tenantId, page) {
      const rows = await db.model.findMany({
        where: { tenantId, ...pageWhere(page.after) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.limit,
      });
      return rows.map(toStored);
    },
    delete: (tenantId, id) =>
      deleteUnlessUsed(db, { modelId: id }, {
        find: (tx) => tx.model.findFirst({ where: { id, tenantId }, select: { storageKey: true } }),
        remove: (tx) => tx.model.delete({ where: { id } }),
      }),
  };
}
