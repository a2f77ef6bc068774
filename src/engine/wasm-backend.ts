import { engine, env } from '@tensorflow/tfjs-core';
import { activateBackend } from './activate.js';
import { describeError } from './describe-error.js';
import type { Attempt } from './types.js';

const WASM = '@tensorflow/tfjs-backend-wasm';

/** The installed package's dist/ folder, where its .wasm binaries sit: they are read from disk, never fetched. */
function localWasmDirectory(): string {
  return new URL('./', import.meta.resolve(WASM)).href;
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type Listener = (...args: unknown[]) => void;

/**
 * Emscripten's start-up code in Node adds process handlers that rethrow every uncaught error and
 * unhandled rejection; they would override whatever the host process decided to do with those.
 * Returns a function that removes the handlers added since this call.
 */
function guardProcessHandlers(): () => void {
  const emitter: NodeJS.EventEmitter = process;
  const before = PROCESS_EVENTS.map((event) => new Set(emitter.listeners(event)));
  return () => {
    PROCESS_EVENTS.forEach((event, i) => {
      for (const listener of emitter.listeners(event)) {
        if (!before[i]?.has(listener)) emitter.removeListener(event, listener as Listener);
      }
    });
  };
}

/** Where the binaries come from, kept for the reason given on later calls. */
let binarySource = 'binaries as configured by the code that started the backend before selectBackend';
let pathsSet = false;

export async function tryWasm(): Promise<Attempt> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    return { ok: false, cause: `${WASM} could not be loaded (${describeError(error)})` };
  }
  // Not tf.findBackend: it starts the backend as a side effect, before the paths are set.
  if (!('wasm' in engine().registry) && !pathsSet) {
    try {
      const directory = localWasmDirectory();
      wasm.setWasmPaths(directory);
      pathsSet = true;
      binarySource = `binaries from ${directory}`;
    } catch (error) {
      return { ok: false, cause: `${WASM} binaries could not be located (${describeError(error)})` };
    }
  }
  const restoreHandlers = guardProcessHandlers();
  const failure = await activateBackend('wasm');
  restoreHandlers();
  if (failure !== null) return { ok: false, cause: `the WASM backend did not start (${failure})` };

  const simd = await env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const multithread = await env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = wasm.getThreadsCount();
  const binary = simd ? 'SIMD' : 'plain (this runtime has no WebAssembly SIMD)';
  const threading = multithread
    ? `${threads} thread${threads === 1 ? '' : 's'}`
    : `${threads} thread: TF.js turns WASM multithreading off under Node`;
  return {
    ok: true,
    selection: {
      backend: 'wasm',
      reason: `WebAssembly (XNNPACK), ${binary} binary, ${threading}; ${binarySource}`,
      threads,
    },
  };
}
