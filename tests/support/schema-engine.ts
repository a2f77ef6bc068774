// Drives Prisma's WASM schema engine (the one `prisma migrate` would download natively) to compute
// the SQL of prisma/schema.prisma. Only `diff` from an empty schema is used: the engine opens a
// connection to learn the server's version but changes nothing in it.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineModule from '@prisma/schema-engine-wasm/schema_engine_bg';

const SCHEMA_PATH = new URL('../../prisma/schema.prisma', import.meta.url);
let initialised: Promise<void> | undefined;

function initEngine(): Promise<void> {
  // The package's entry imports the .wasm as an ES module (a bundler feature Node 20 lacks), so the
  // binary is instantiated here against the package's own JS glue.
  initialised ??= (async () => {
    const require = createRequire(import.meta.url);
    const glue = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(path.join(path.dirname(glue), 'schema_engine_bg.wasm'));
    // Node has WebAssembly; the ES2023 lib without DOM does not declare it.
    const { WebAssembly: wasm } = globalThis as unknown as {
      WebAssembly: { instantiate(b: Buffer, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }> };
    };
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': engineModule });
    engineModule.__wbg_set_wasm(instance.exports as never);
    (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
  })();
  return initialised;
}

export async function schemaSql(databaseUrl: string): Promise<string> {
  await initEngine();
  const schema = await readFile(SCHEMA_PATH, 'utf8');
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString: databaseUrl }));
  const files = [{ path: 'schema.prisma', content: schema }];
  const engine = await engineModule.SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, () => undefined, adapter);
  const result = await engine.diff({
    from: { tag: 'empty' },
    to: { tag: 'schemaDatamodel', files },
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  });
  engine.free();
  return result.stdout ?? '';
}
