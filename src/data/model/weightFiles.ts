// Finds each manifest group's files among those given, checks their byte lengths against what the
// manifest's shapes and dtypes take, and joins them into the one buffer TF.js decodes.
import type { FieldProblem } from '../../errors/index.js';
import { refuse, weightsProblem } from './errors.js';
import type { ManifestGroup } from './manifest.js';
import { safeRelativePath } from './manifest.js';
import type { MatchedEntry } from './matchWeights.js';

export interface WeightPayload {
  /** Entries in data order, named `layer/weight` as tfjs-layers names the variables they fill. */
  specs: { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool'; quantization?: MatchedEntry['quantization'] }[];
  data: ArrayBuffer;
}

/** Files keyed by their path relative to the model JSON (`./a.bin` and `a.bin` are the same file). */
function byPath(files: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [p, bytes] of files) {
    const safe = safeRelativePath(p);
    if (safe !== null) out.set(safe, bytes);
  }
  return out;
}

export function readWeightFiles(groups: ManifestGroup[], matched: MatchedEntry[][], given: ReadonlyMap<string, Uint8Array>, maxBytes: number): WeightPayload {
  const files = byPath(given);
  const problems: FieldProblem[] = [];
  const missing = groups.flatMap((g) => g.paths).filter((p) => !files.has(p));
  for (const p of missing) problems.push(weightsProblem(`weight file '${p}' listed in the manifest was not provided`));
  refuse(problems);

  const total = groups.reduce((s, g) => s + g.paths.reduce((t, p) => t + files.get(p)!.byteLength, 0), 0);
  if (total > maxBytes) refuse([weightsProblem(`the weight files take ${total} bytes, over the limit of ${maxBytes} bytes`)]);
  groups.forEach((g, gi) => {
    const sizes = g.paths.map((p) => files.get(p)!.byteLength);
    const actual = sizes.reduce((a, b) => a + b, 0);
    if (actual === g.bytes) return;
    if (g.paths.length === 1) {
      problems.push(weightsProblem(`weight file '${g.paths[0]}': expected ${g.bytes} bytes (from the manifest), got ${actual}`));
    } else {
      const each = g.paths.map((p, i) => `${p}: ${sizes[i]}`).join(', ');
      problems.push(weightsProblem(`weight files of group ${gi} (${each}): expected ${g.bytes} bytes in total (from the manifest), got ${actual}`));
    }
  });
  refuse(problems);

  const data = new Uint8Array(groups.reduce((s, g) => s + g.bytes, 0));
  let at = 0;
  for (const g of groups) {
    for (const p of g.paths) {
      const bytes = files.get(p)!;
      data.set(bytes, at);
      at += bytes.byteLength;
    }
  }
  const specs = matched.flat().map((e) => ({ name: e.target, shape: e.shape, dtype: e.dtype, ...(e.quantization ? { quantization: e.quantization } : {}) }));
  return { specs, data: data.buffer };
}
