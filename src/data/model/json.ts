// The model JSON as an object: parsed from text or bytes under a size limit, and never deeper than
// any real Keras or TF.js document, so the recursive walks that follow cannot overflow the stack.
import { ModelError, modelProblem } from './errors.js';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** A Keras functional model nests initializer configs about 10 levels down; 64 leaves room. */
export const MAX_JSON_DEPTH = 64;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(reason: string): never {
  throw new ModelError([modelProblem(reason)]);
}

/** `input` is JSON text, UTF-8 bytes, or an already parsed value; the result is checked for depth. */
export function readJsonValue(input: unknown, maxBytes: number, what = 'the model JSON'): Json {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const bytes = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
    if (bytes > maxBytes) fail(`${what} is ${bytes} bytes, over the limit of ${maxBytes} bytes`);
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    try {
      value = JSON.parse(text);
    } catch (e) {
      fail(`${what} is not valid JSON: ${(e as Error).message}`);
    }
  }
  checkDepth(value, what);
  return value as Json;
}

export function readJsonDocument(input: unknown, maxBytes: number): JsonObject {
  const value = readJsonValue(input, maxBytes);
  if (!isObject(value)) fail(`the model JSON must be an object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  return value;
}

/** Iterative, so a hostile document cannot overflow the stack here either. */
function checkDepth(root: unknown, what: string): void {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_JSON_DEPTH) fail(`${what} is nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
}

/** A deep copy, so normalising never changes the caller's object. */
export function cloneJson<T extends Json>(v: T): T {
  try {
    return structuredClone(v);
  } catch {
    return fail('the model JSON holds values that JSON cannot (functions, symbols, …)');
  }
}
