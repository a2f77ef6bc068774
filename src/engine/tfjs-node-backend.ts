import { findBackendFactory } from '@tensorflow/tfjs-core';
import { activateBackend } from './activate.js';
import { describeError } from './describe-error.js';
import type { Attempt } from './types.js';

// A variable, not a literal: the package is optional, so neither the type checker nor a bundler
// may insist on resolving it.
const TFJS_NODE = '@tensorflow/tfjs-node';

export async function tryTfjsNode(): Promise<Attempt> {
  try {
    await import(TFJS_NODE);
  } catch (error) {
    return { ok: false, cause: `${TFJS_NODE} is not usable (${describeError(error)})` };
  }
  if (findBackendFactory('tensorflow') === null) {
    return {
      ok: false,
      cause: `${TFJS_NODE} loaded but registered its backend with another copy of @tensorflow/tfjs-core`,
    };
  }
  const failure = await activateBackend('tensorflow');
  if (failure !== null) return { ok: false, cause: `${TFJS_NODE} did not start (${failure})` };
  return {
    ok: true,
    selection: { backend: 'tensorflow', reason: `native TensorFlow through ${TFJS_NODE}` },
  };
}
