// The JSON Schema document of report.json as committed in openapi/report.schema.json.
import { RunReportSchema } from './schema.js';

export const REPORT_SCHEMA_PATH = new URL('../../../openapi/report.schema.json', import.meta.url);

export function reportJsonSchema(): string {
  const doc = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...structuredClone(RunReportSchema), $id: 'https://qat-service.dev/schemas/report.schema.json' };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
