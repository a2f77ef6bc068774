// Deployable artifacts from a converted model (IntModel): writers return bytes/JSON and never touch the
// filesystem; verification runs the ONNX bytes in ONNX Runtime (CPU) from memory.
export { type ExportFormat, ExportError, type ExportIssue } from './errors.js';
export { exportFloatOnnx, exportOnnx, type OnnxExportOptions } from './onnx/exportOnnx.js';
export type { FloatWeights } from './onnx/floatLowering.js';
export { foldedFloatWeights } from './onnx/foldedWeights.js';
export { type ActivationType, onnxZeroPoint } from './onnx/int8Lowering.js';
export { exportTfjsInt8, TFJS_WEIGHTS_PATH, type TfjsArtifact } from './tfjs/exportTfjs.js';
export { buildModelCard, type CardFile, MODEL_CARD_SCHEMA, type ModelCardInput, sha256Hex } from './card/modelCard.js';
export { type ArtifactFormat, FORMAT_DESCRIPTIONS } from './card/formats.js';
export { createSession, runAll, runOnce, type SessionOptions } from './verify/session.js';
export { type Timing, type TimingOptions, measureTiming } from './verify/timing.js';
export { argmaxRows, compareOutputs, type OnnxVerification, type ReferenceAgreement, type TestSet, verifyOnnx, type VerifyOptions } from './verify/verifyOnnx.js';
