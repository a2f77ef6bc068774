import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PrismaPg } from '@prisma/adapter-pg';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm');
const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), { './schema_engine_bg.js': bg });
bg.__wbg_set_wasm(instance.exports); instance.exports.__wbindgen_start();
const schema = fs.readFileSync('prisma/schema.prisma','utf8');
const f = new PrismaPg({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
const factory = bindMigrationAwareSqlAdapterFactory(f);
const engine = await bg.SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, (l) => {}, factory);
const r = await engine.diff({ from: { tag: 'empty' }, to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] }, script: true, exitCode: null, filters: { externalTables: [], externalEnums: [] } });
console.log(r.stdout);
process.exit(0)
