// The integer reference: executes an IntModel with the runtime's integer arithmetic, plus a float
// evaluation of the same deployed math for debugging.
export { dequantizeLinear, quantizeLinear, requantize, requantMultiplier, rescaleMultiplier, roundHalfEven } from './arith.js';
export { dequantizedConstant, evaluateFloatModel, type FloatEvalOptions, runFloatModel } from './floatEval.js';
export { type EvalOptions, type EvalResult, evaluateIntModel, runIntModel } from './run.js';
