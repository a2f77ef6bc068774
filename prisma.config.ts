// Prisma CLI configuration. Only `prisma generate` is used (it works offline); migrations are applied
// by `qat migrate` (src/db/migrate.ts) because every `prisma migrate` command downloads a native engine.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
