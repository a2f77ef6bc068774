// Pairs each manifest entry with the layer weight it holds, and checks it against the shape the layer
// declares. Names come in several spellings: `dense/kernel` (model.save, the Keras 2 converter),
// with a `:0` suffix or an enclosing scope (`model/dense/kernel`, TF 2.2's `lstm/cell/kernel`), and
// Keras 3's checkpoint paths (`_layer_checkpoint_dependencies/dense/vars/0`: the layer's n-th weight).
import type { FieldProblem } from '../../errors/index.js';
import { refuse, weightsProblem } from './errors.js';
import type { InferredModel } from './infer.js';
import { formatShape } from './layerConfig.js';
import type { ManifestEntry, ManifestGroup } from './manifest.js';

/** A manifest entry and the weight it fills, named as tfjs-layers names it (`layer/weight`). */
export interface MatchedEntry extends ManifestEntry {
  target: string;
}

const clean = (token: string) => token.replace(/^_+/, '');

/** [layer, weight name or index] for a manifest name, or null if it names no layer of the model. */
function resolve(name: string, model: InferredModel): [string, string | number] | null {
  const tokens = name.replace(/:\d+$/, '').split('/').map(clean);
  const vars = tokens.lastIndexOf('vars');
  if (vars > 0 && /^\d+$/.test(tokens[vars + 1] ?? '')) {
    const layer = tokens[vars - 1]!;
    return model.layers.has(layer) ? [layer, Number(tokens[vars + 1])] : null;
  }
  const weight = tokens[tokens.length - 1]!;
  for (let i = tokens.length - 2; i >= 0; i--) if (model.layers.has(tokens[i]!)) return [tokens[i]!, weight];
  return null;
}

export function matchWeights(groups: ManifestGroup[], model: InferredModel): MatchedEntry[][] {
  const problems: FieldProblem[] = [];
  const filled = new Map<string, string>();
  const matched = groups.map((g) =>
    g.entries.map((entry): MatchedEntry => {
      const where = resolve(entry.name, model);
      const layer = where ? model.layers.get(where[0])! : undefined;
      const decl = layer && (typeof where![1] === 'number' ? layer.weights[where![1]] : layer.weights.find((w) => w.name === where![1]));
      if (!layer || !decl) {
        const has = layer ? ` (it has ${layer.weights.map((w) => w.name).join(', ') || 'no weights'})` : '';
        problems.push(weightsProblem(`manifest weight '${entry.name}' matches no weight of the model${layer ? `: layer '${layer.name}' (${layer.className}) has no weight ${JSON.stringify(where![1])}${has}` : ''}`));
        return { ...entry, target: '' };
      }
      const target = `${layer.name}/${decl.name}`;
      if (filled.has(target)) problems.push(weightsProblem(`manifest weights '${filled.get(target)}' and '${entry.name}' both fill ${target}`));
      filled.set(target, entry.name);
      if (formatShape(entry.shape) !== formatShape(decl.shape)) {
        problems.push(weightsProblem(`manifest weight '${entry.name}' has shape ${formatShape(entry.shape)}, but layer '${layer.name}' (${layer.className}) declares ${decl.name} as ${formatShape(decl.shape)}`));
      }
      if (entry.dtype !== 'float32') problems.push(weightsProblem(`manifest weight '${entry.name}' is ${entry.dtype}, but ${target} is a float32 weight`));
      return { ...entry, target };
    }),
  );
  for (const layer of model.layers.values()) {
    for (const w of layer.weights) {
      const target = `${layer.name}/${w.name}`;
      if (!filled.has(target)) problems.push(weightsProblem(`layer '${layer.name}' (${layer.className}) weight ${w.name} ${formatShape(w.shape)} is missing from the manifest`));
    }
  }
  refuse(problems);
  return matched;
}
