import { type Static, Type } from 'typebox';
import { DATASET_FORMATS, TASKS } from '../../services/datasets.js';

export const DatasetSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    sha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'SHA-256 of the uploaded bytes; for several files, of their `name sha256` lines sorted and joined by newlines (as `qat run` reports a folder).',
    }),
    size_bytes: Type.Integer({ minimum: 0, description: 'All uploaded files together.' }),
    format: Type.String({ description: 'How the files were read: `csv`, `tsv`, `jsonl`, `npz`, `idx`, or `<format> in <zip|tar|tar.gz>` for an archive.' }),
    task: Type.Enum([...TASKS]),
    samples: Type.Integer({ minimum: 1, description: 'Every sample, a given test set (an IDX set’s t10k files) included.' }),
    test_samples: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Samples of the test set the upload brought; null when a job splits one off (`test_fraction`).' }),
    features: Type.Integer({ minimum: 1, description: 'Values per sample (one-hot encoded categories counted).' }),
    sample_shape: Type.Array(Type.Integer({ minimum: 1 }), { description: 'One sample’s shape, e.g. [28, 28, 1] or [13].' }),
    classes: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'Classes of a classification set; null for regression.' }),
    class_names: Type.Optional(Type.Array(Type.String(), { description: 'Label text of each class code, when the labels were text.' })),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Dataset' },
);

export const DatasetListSchema = Type.Object(
  { items: Type.Array(Type.Ref('Dataset')), next_page_token: Type.Union([Type.String(), Type.Null()], { description: 'Pass as page_token for the next page; null on the last.' }) },
  { $id: 'DatasetList' },
);

export const PageQuerySchema = Type.Object(
  {
    page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    page_token: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuerySchema>;

/** The form fields of an upload besides its files (values arrive as text and are converted). */
export const DatasetFieldsSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Default: the file name.' })),
    format: Type.Optional(Type.Enum([...DATASET_FORMATS], { description: 'Overrides what the file name says; `archive` is a .zip/.tar/.tar.gz holding one dataset.' })),
    label_column: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'CSV/TSV label column, by name or 0-based index (negative counts from the end); default: the last.' })),
    skip_rows: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'CSV/TSV lines to skip before the header or the data.' })),
    task: Type.Optional(Type.Enum([...TASKS], { description: 'Inferred from the labels when absent.' })),
  },
  { additionalProperties: false },
);
export type DatasetFields = Static<typeof DatasetFieldsSchema>;

const FilePart = Type.String({ contentMediaType: 'application/octet-stream', description: 'A file (its name says its format unless `format` does).' });

/** Documents the multipart body (OpenAPI); the route reads the parts as a stream. */
export const DatasetUploadFormSchema = Type.Object(
  {
    file: Type.Array(FilePart, {
      description:
        'One CSV/TSV/.txt, JSON Lines (.jsonl), NPZ (`x`, `y`) file; or the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, raw or .gz) as four parts; or one .zip/.tar/.tar.gz/.tgz holding one of those.',
    }),
    ...DatasetFieldsSchema.properties,
  },
  { $id: 'DatasetUploadForm' },
);
