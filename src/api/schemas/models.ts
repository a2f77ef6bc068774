import { type Static, Type } from 'typebox';
import { MODEL_FORMATS } from '../../services/models.js';

const Shape = Type.Array(Type.Integer({ minimum: 1 }));
const Layer = Type.Object({ name: Type.String(), class_name: Type.String() });

export const ModelSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    format: Type.Enum([...MODEL_FORMATS]),
    sha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'SHA-256 of the uploaded bytes; for several files, of their `name sha256` lines sorted and joined by newlines. A zoo model: of its stored spec `zoo.json`.',
    }),
    size_bytes: Type.Integer({ minimum: 0 }),
    params: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'Every weight, trainable or not; null for a zoo model until a job builds it for its dataset.' }),
    layers: Type.Array(Layer, { description: 'Empty for a zoo model (built at job time).' }),
    input_shape: Type.Union([Shape, Type.Null()], { description: 'One sample’s shape without the batch axis; null for a zoo model (it takes the dataset’s).' }),
    output_shape: Type.Union([Shape, Type.Null()]),
    has_weights: Type.Boolean({ description: 'False: the model starts from its initializers and is trained in float first.' }),
    zoo: Type.Union([Type.Object({ name: Type.String(), width: Type.Number() }), Type.Null()]),
    unsupported_layers: Type.Array(Type.Object({ name: Type.String(), class_name: Type.String(), reason: Type.String() }), {
      description: 'Layers QAT with default settings would refuse; a job with this model fails until they are replaced.',
    }),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Model' },
);

export const ModelListSchema = Type.Object(
  { items: Type.Array(Type.Ref('Model')), next_page_token: Type.Union([Type.String(), Type.Null()], { description: 'Pass as page_token for the next page; null on the last.' }) },
  { $id: 'ModelList' },
);

export const ZooModelRequestSchema = Type.Object(
  {
    zoo: Type.String({ minLength: 1, maxLength: 50, description: 'A reference architecture: mlp, cnn or ds-cnn.' }),
    width: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 16, default: 1, description: 'Width multiplier of every hidden layer.' })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Default: zoo:NAME.' })),
  },
  { additionalProperties: false, $id: 'ZooModelRequest' },
);
export type ZooModelRequest = Static<typeof ZooModelRequestSchema>;

export const ModelFieldsSchema = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Default: the model’s own name (or the archive’s).' })) },
  { additionalProperties: false },
);

/** Documents the multipart body (OpenAPI); the route reads the parts as a stream. */
export const ModelUploadFormSchema = Type.Object(
  {
    file: Type.Array(Type.String({ contentMediaType: 'application/octet-stream' }), {
      description:
        'A TF.js model.json and the weight files its manifest lists; or a Keras JSON (model.to_json()), optionally with a TF.js weights manifest (a JSON array) and its files; or one .zip/.tar/.tar.gz/.tgz of those.',
    }),
    ...ModelFieldsSchema.properties,
  },
  { $id: 'ModelUploadForm' },
);
