// Regenerates openapi/openapi.json from the route schemas and openapi/report.schema.json from the
// report contract (npm run openapi). The app is built with
// the production wiring but never connects: nothing here needs Postgres or Redis to answer.
import { writeFile } from 'node:fs/promises';
import { buildServer } from '../src/api/app.js';
import { OPENAPI_PATH, openApiDocument } from '../src/api/openapiDocument.js';
import { createApiRuntime, loadConfig } from '../src/cli/runtime.js';
import { REPORT_SCHEMA_PATH, reportJsonSchema } from '../src/export/report/index.js';

const runtime = createApiRuntime(loadConfig({ LOG_LEVEL: 'silent' }));
const app = await buildServer(runtime.deps, { logger: false });
await app.ready();
await writeFile(OPENAPI_PATH, openApiDocument(app));
await app.close();
await runtime.close();
process.stdout.write(`wrote ${OPENAPI_PATH.pathname}\n`);
await writeFile(REPORT_SCHEMA_PATH, reportJsonSchema());
process.stdout.write(`wrote ${REPORT_SCHEMA_PATH.pathname}\n`);
