// Importing user models (TF.js Layers model.json, Keras 2/3 JSON) and checking them against a dataset.
// Like the rest of src/data: no file system; the CLI and API read the bytes and pass them in.
export { importModel, weightFilesOf, type ImportedModel, type ModelInfo, type ModelSource } from './importModel.js';
export { checkCompatibility, compatibilityProblems, type CompatibilityTarget } from './compatibility.js';
export { ModelError, type ModelLimits } from './errors.js';
export type { ModelFormat } from './document.js';
export { resolveModelLimits } from './errors.js';
