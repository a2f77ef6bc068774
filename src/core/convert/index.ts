// Int8 conversion of prepared QAT models: the IntModel description exporters and the integer reference consume.
export { convert } from './convert.js';
export { ConversionError, type ConversionIssue } from './errors.js';
export type * from './types.js';
