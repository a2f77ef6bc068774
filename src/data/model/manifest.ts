// The TF.js weights manifest: groups of weight entries, each group stored as the concatenation of its
// files (shards). Checked for shape before any file is looked at: dtypes and byte sizes as TF.js
// reads them (quantized entries hold uint8/uint16/float16 values that are dequantized on load),
// and file paths that stay inside the model's folder.
import { posix } from 'node:path';
import type { FieldProblem } from '../../errors/index.js';
import { refuse, weightsProblem } from './errors.js';
import { isObject, type Json } from './json.js';
import { elements, type Shape } from './layerConfig.js';

export type WeightDtype = 'float32' | 'int32' | 'bool';
export type QuantizedDtype = 'uint8' | 'uint16' | 'float16';

const DTYPE_BYTES: Record<WeightDtype, number> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Record<QuantizedDtype, number> = { uint8: 1, uint16: 2, float16: 2 };

export interface Quantization {
  dtype: QuantizedDtype;
  scale?: number;
  min?: number;
}

export interface ManifestEntry {
  name: string;
  shape: Shape;
  dtype: WeightDtype;
  quantization?: Quantization;
  /** Bytes the entry takes in its group's data. */
  bytes: number;
}

export interface ManifestGroup {
  /** Normalised relative paths, in the order their bytes are concatenated. */
  paths: string[];
  entries: ManifestEntry[];
  bytes: number;
}

/** A relative path inside the model's folder, normalised; null if it is absolute, a URL or escapes. */
export function safeRelativePath(path: string): string | null {
  if (path === '' || path.includes('\0') || path.includes('\\') || /^[a-z][a-z0-9+.-]*:/i.test(path)) return null;
  const norm = posix.normalize(path);
  if (posix.isAbsolute(norm) || norm === '..' || norm.startsWith('../') || norm === '.') return null;
  return norm;
}

export function parseManifest(raw: Json | undefined, maxFiles: number): ManifestGroup[] {
  const problems: FieldProblem[] = [];
  if (!Array.isArray(raw)) refuse([weightsProblem('weightsManifest must be a list of {paths, weights} groups')]);
  const groups: ManifestGroup[] = [];
  (raw as Json[]).forEach((g, gi) => {
    const at = `weightsManifest[${gi}]`;
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      problems.push(weightsProblem(`${at} must be an object with paths and weights lists`));
      return;
    }
    const paths: string[] = [];
    for (const p of g.paths) {
      const safe = typeof p === 'string' ? safeRelativePath(p) : null;
      if (safe === null) problems.push(weightsProblem(`${at}: weight file path ${JSON.stringify(p)} must be relative and stay inside the model's folder`));
      else paths.push(safe);
    }
    if (g.paths.length === 0 && g.weights.length > 0) problems.push(weightsProblem(`${at} lists weights but no files`));
    const entries = g.weights.map((w, wi) => parseEntry(w, `${at}.weights[${wi}]`, problems)).filter((e): e is ManifestEntry => e !== null);
    groups.push({ paths, entries, bytes: entries.reduce((s, e) => s + e.bytes, 0) });
  });
  const files = groups.reduce((n, g) => n + g.paths.length, 0);
  if (files > maxFiles) problems.push(weightsProblem(`the manifest lists ${files} weight files, over the limit of ${maxFiles}`));
  refuse(problems);
  return groups;
}

function parseEntry(w: Json, at: string, problems: FieldProblem[]): ManifestEntry | null {
  if (!isObject(w) || typeof w.name !== 'string') {
    problems.push(weightsProblem(`${at} must be an object with a name`));
    return null;
  }
  const label = `weight '${w.name}'`;
  const shape = w.shape;
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    problems.push(weightsProblem(`${label}: shape must be a list of non-negative integers, got ${JSON.stringify(shape ?? null)}`));
    return null;
  }
  const dtype = w.dtype ?? 'float32';
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    problems.push(weightsProblem(`${label}: dtype ${JSON.stringify(dtype)} is not supported (float32, int32 or bool)`));
    return null;
  }
  let quantization: Quantization | undefined;
  let bytesPer = DTYPE_BYTES[dtype as WeightDtype];
  if (w.quantization !== undefined && w.quantization !== null) {
    const q = w.quantization;
    const qd = isObject(q) ? q.dtype : undefined;
    if (!isObject(q) || typeof qd !== 'string' || !(qd in QUANTIZED_BYTES)) {
      problems.push(weightsProblem(`${label}: quantization dtype ${JSON.stringify(qd ?? null)} is not supported (uint8, uint16 or float16)`));
      return null;
    }
    if (qd !== 'float16' && !(typeof q.scale === 'number' && Number.isFinite(q.scale) && typeof q.min === 'number' && Number.isFinite(q.min))) {
      problems.push(weightsProblem(`${label}: ${qd} quantization needs finite scale and min`));
      return null;
    }
    quantization = { dtype: qd as QuantizedDtype, ...(typeof q.scale === 'number' ? { scale: q.scale } : {}), ...(typeof q.min === 'number' ? { min: q.min } : {}) };
    bytesPer = QUANTIZED_BYTES[qd as QuantizedDtype];
  }
  return { name: w.name, shape: shape as number[], dtype: dtype as WeightDtype, ...(quantization ? { quantization } : {}), bytes: elements(shape as number[]) * bytesPer };
}

/** Every weight file the manifest names, normalised, for a reader that must fetch them first. */
export function manifestPaths(raw: Json | undefined, maxFiles: number): string[] {
  return parseManifest(raw, maxFiles).flatMap((g) => g.paths);
}
