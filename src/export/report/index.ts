export { buildRunReport, dataParallelReport, finite, type ReportInputs } from './buildReport.js';
export { comparisonRows, renderReportHtml } from './html.js';
export { REPORT_SCHEMA_PATH, reportJsonSchema } from './jsonSchema.js';
export { REPORT_VERSION, type RunReport, RunReportSchema } from './schema.js';
