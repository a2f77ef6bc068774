// TF.js for the core. tfjs-core alone registers no op gradients, and its per-file ESM build cannot be
// imported by Node directly; the Node bundle of tfjs-layers registers them all as a side effect.
import '@tensorflow/tfjs-layers';

export * from '@tensorflow/tfjs-core';
