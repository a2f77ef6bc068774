import { getBackend, setBackend } from '@tensorflow/tfjs-core';
import { describeError } from './describe-error.js';

/**
 * Makes `name` the active backend; returns null on success, else why not. tf.setBackend reports a
 * failed initialisation only by returning false and logging the error with console.warn, so the
 * warnings are listened to (and still passed on) for the duration of the call.
 */
export async function activateBackend(name: string): Promise<string | null> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((a) => (a instanceof Error ? describeError(a) : String(a))).join(' '));
    original.apply(console, args);
  };
  try {
    const ok = await setBackend(name);
    if (ok && getBackend() === name) return null;
    const cause = warnings.filter((w) => !w.startsWith('Initialization of backend')).join('; ');
    return cause || `tf.setBackend('${name}') returned false`;
  } catch (error) {
    return describeError(error);
  } finally {
    console.warn = original;
  }
}
