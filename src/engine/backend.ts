import '@tensorflow/tfjs-backend-cpu';
import { activateBackend } from './activate.js';
import { registerProjectKernels } from './kernels/register.js';
import { tryTfjsNode } from './tfjs-node-backend.js';
import type { Attempt, BackendPreference, BackendSelection } from './types.js';
import { tryWasm } from './wasm-backend.js';

export { registerProjectKernels };
export type { BackendPreference, BackendSelection };

async function tryCpu(): Promise<Attempt> {
  const failure = await activateBackend('cpu');
  if (failure !== null) return { ok: false, cause: `the CPU backend did not start (${failure})` };
  return { ok: true, selection: { backend: 'cpu', reason: 'plain JavaScript CPU backend', threads: 1 } };
}

const attempts: Record<Exclude<BackendPreference, 'auto'>, () => Promise<Attempt>> = {
  tensorflow: tryTfjsNode,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Activates the fastest TF.js backend that works here ('auto': tfjs-node, then WASM, then CPU) or
 * exactly the one asked for, which throws if it cannot start. The project's WASM kernels are
 * registered first, so training works on whichever is chosen. Calling it again is harmless.
 */
export async function selectBackend(preference: BackendPreference = 'auto'): Promise<BackendSelection> {
  registerProjectKernels();
  if (preference !== 'auto') {
    const attempt = await attempts[preference]();
    if (!attempt.ok) throw new Error(`Backend '${preference}' is unavailable: ${attempt.cause}`);
    return { ...attempt.selection, reason: `requested; ${attempt.selection.reason}` };
  }
  const passedOver: string[] = [];
  for (const name of ['tensorflow', 'wasm', 'cpu'] as const) {
    const attempt = await attempts[name]();
    if (attempt.ok) {
      const why = passedOver.length > 0 ? `${passedOver.join('; ')}; so ` : '';
      return { ...attempt.selection, reason: `${why}${attempt.selection.reason}` };
    }
    passedOver.push(attempt.cause);
  }
  throw new Error(`No TF.js backend could start: ${passedOver.join('; ')}`);
}
