// Runs a suite on every TF.js backend available here (tfjs-tensorflow.js style "every backend").
import * as tf from '../../src/core/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export const BACKENDS = ['cpu', 'wasm'] as const;

export async function useBackend(name: string): Promise<void> {
  if (tf.getBackend() !== name) {
    await tf.setBackend(name);
    await tf.ready();
  }
}
