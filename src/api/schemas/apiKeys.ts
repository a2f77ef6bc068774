import { type Static, Type } from 'typebox';

export const ApiKeySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    prefix: Type.String({ description: 'Public part of the key (`qat_<prefix>_…`), safe to log.' }),
    name: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'ApiKey' },
);
export type ApiKeyBody = Static<typeof ApiKeySchema>;

export const CreatedApiKeySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    prefix: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    key: Type.String({ description: 'The full key. Shown only in this response; store it now.' }),
  },
  { $id: 'CreatedApiKey' },
);

export const CreateApiKeyBodySchema = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'What the key is for.' })) },
  { additionalProperties: false, $id: 'CreateApiKeyRequest' },
);
export type CreateApiKeyBody = Static<typeof CreateApiKeyBodySchema>;

export const ApiKeyListSchema = Type.Object({ items: Type.Array(Type.Ref('ApiKey')) }, { $id: 'ApiKeyList' });

export const IdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid' }) });
