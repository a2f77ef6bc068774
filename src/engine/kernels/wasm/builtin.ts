import '@tensorflow/tfjs-backend-wasm';
import { getKernel, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Marks a project kernel that replaces a WASM kernel with the kernel it replaced. */
const REPLACED = Symbol.for('qat-service/engine/replaced-kernel');

type Marked = KernelFunc & { [REPLACED]?: KernelConfig };

/**
 * WASM's own kernel `name`, even after the project replaced it: the registry is global, so a second
 * copy of this module (a test runner's fresh module graph) finds the replacement, which remembers it.
 */
export function builtinWasmKernel(name: string): KernelConfig {
  const current = getKernel(name, 'wasm');
  if (current === undefined) throw new Error(`the WASM backend has no ${name} kernel`);
  return (current.kernelFunc as Marked)[REPLACED] ?? current;
}

/**
 * A WASM kernel that takes over `name`, falling back to (or building on) WASM's own. WASM's setup and
 * dispose functions are kept: they bind the C functions the built-in kernel calls.
 */
export function replaceWasmKernel(name: string, make: (builtin: KernelFunc) => KernelFunc): KernelConfig {
  const builtin = builtinWasmKernel(name);
  const kernelFunc = make(builtin.kernelFunc) as Marked;
  Object.defineProperty(kernelFunc, REPLACED, { value: builtin });
  const config: KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc };
  if (builtin.setupFunc !== undefined) config.setupFunc = builtin.setupFunc;
  if (builtin.disposeFunc !== undefined) config.disposeFunc = builtin.disposeFunc;
  return config;
}

/** Runs WASM's own kernel `name` directly; the caller owns (and must dispose) the result. */
export function runBuiltin(name: string, backend: BackendWasm, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  return builtinWasmKernel(name).kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}
