// NumPy .npz: a ZIP of .npy files (np.savez / np.savez_compressed). A dataset holds `x` and `y`.
import { DatasetError, resolveLimits, type DataLimits } from './errors.js';
import { arraysToDataset, type NdArray } from './ndarray.js';
import { parseNpy } from './npy.js';
import type { ParsedDataset } from './types.js';
import type { Task } from '../core/train/task.js';
import { readZip } from './zip.js';

/** All arrays of an .npz archive by name (without `.npy`). */
export function parseNpz(bytes: Uint8Array, opts: { name?: string; limits?: DataLimits; maxEntries?: number } = {}): Map<string, NdArray> {
  const field = opts.name ?? 'npz';
  const limits = resolveLimits(opts.limits);
  const zip = readZip(bytes, { name: field, maxEntries: opts.maxEntries ?? 64, maxEntryBytes: limits.maxBytes + 4096 });
  const arrays = new Map<string, NdArray>();
  for (const entry of zip.entries) {
    if (!entry.name.endsWith('.npy')) continue;
    const key = entry.name.slice(0, -4);
    arrays.set(key, parseNpy(zip.read(entry), { name: `${field}:${key}`, limits }));
  }
  if (arrays.size === 0) throw new DatasetError(field, 'holds no .npy arrays');
  return arrays;
}

/** An .npz dataset: arrays `x` [N, ...] and `y` [N] (or [N, targets]); uint8 x is scaled by 1/255. */
export function parseNpzDataset(bytes: Uint8Array, opts: { name?: string; limits?: DataLimits; task?: Task; scaleUint8?: boolean } = {}): ParsedDataset {
  const field = opts.name ?? 'npz';
  const arrays = parseNpz(bytes, opts);
  const x = arrays.get('x');
  const y = arrays.get('y');
  const have = [...arrays.keys()].join(', ');
  if (!x) throw new DatasetError(`${field}:x`, `is missing (the archive holds ${have})`);
  if (!y) throw new DatasetError(`${field}:y`, `is missing (the archive holds ${have})`);
  return arraysToDataset(x, y, { task: opts.task, scaleUint8: opts.scaleUint8, limits: opts.limits, xName: `${field}:x`, yName: `${field}:y` });
}
