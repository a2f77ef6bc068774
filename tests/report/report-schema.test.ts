import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { REPORT_SCHEMA_PATH, reportJsonSchema } from '../../src/export/report/index.js';

describe('report.json contract', () => {
  it('the committed openapi/report.schema.json is what the code generates (run `npm run openapi` after changing it)', async () => {
    expect(await readFile(REPORT_SCHEMA_PATH, 'utf8')).toBe(reportJsonSchema());
  });
});
