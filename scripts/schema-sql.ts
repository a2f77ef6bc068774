// Prints the SQL that creates prisma/schema.prisma from an empty database, computed offline by
// Prisma's WASM schema engine. Use it to write a new migration (diff it against the previous
// schema) — tests/db/migrations.test.ts fails if the committed migrations do not build this schema.
//   npx tsx scripts/schema-sql.ts [postgres-url] > /tmp/schema.sql
import { schemaSql } from '../tests/support/schema-engine.js';

process.stdout.write(await schemaSql(process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/postgres'));
process.exit(0);
