// Range observers (in-graph, for QAT) and post-training calibrators (plain JS over Float32Arrays).
export { createObserver, observerVariableSpecs } from './observer.js';
export type { Observer, ObserverKind, ObserverOptions, ObserverReduction, ObserverVariables, ObserverVariableSpec } from './observer.js';
export { createCalibrator } from './calibrator.js';
export type { Calibrator, CalibratorKind, CalibratorOptions } from './calibrator.js';
export type { HistogramView } from './histogram.js';
