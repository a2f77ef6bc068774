// Rewrites a Keras model config into the Keras 2 form that @tensorflow/tfjs-layers 4.22 deserialises.
// Keras 3 (`model.to_json()` since 2023) writes `module`/`registered_name` beside every class name,
// `batch_shape` for `batch_input_shape`, dtypes as DTypePolicy objects, `build_config`, and inbound
// nodes as {args: [__keras_tensor__…], kwargs}. tfjs-layers silently ignores config keys it does not
// know, so a key that changes what a layer computes (grouped convs, LoRA, batch renorm) is refused here
// rather than dropped.
import type { FieldProblem } from '../../errors/index.js';
import { modelProblem } from './errors.js';
import { isObject, type Json, type JsonObject } from './json.js';
import { TFJS_ACTIVATIONS } from './layerRules.js';

const KERAS3_ONLY = ['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id'];

/** Keras names that tfjs-layers registers under another name. */
const CLASS_ALIASES: Record<string, string> = {
  Functional: 'Model',
  OrthogonalInitializer: 'Orthogonal',
  IdentityInitializer: 'Identity',
  LecunNormal: 'LeCunNormal',
  LecunUniform: 'LeCunUniform',
};

const ACTIVATION_ALIASES: Record<string, string> = { silu: 'swish' };

const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);

export interface Normalized {
  topology: JsonObject;
  problems: FieldProblem[];
}

/** Normalises `topology` in place (pass a copy). */
export function normalizeTopology(topology: JsonObject): Normalized {
  const problems: FieldProblem[] = [];
  stripKeras3(topology);
  topology.class_name = alias(topology.class_name);
  if (topology.class_name === 'Sequential' && Array.isArray(topology.config)) topology.config = { layers: topology.config }; // Keras 2.0
  const config = topology.config;
  if (!isObject(config) || !Array.isArray(config.layers)) {
    problems.push(modelProblem(`the ${String(topology.class_name)} config has no layers list`));
    return { topology, problems };
  }
  delete config.dtype;
  for (const key of ['input_layers', 'output_layers'] as const) {
    const refs = config[key];
    // Keras 3 writes a single input/output as a bare [name, node, tensor].
    if (Array.isArray(refs) && typeof refs[0] === 'string') config[key] = [refs];
  }
  for (const entry of config.layers) {
    if (!isObject(entry)) continue; // reported by the graph reader
    normalizeLayer(entry, problems);
  }
  return { topology, problems };
}

function alias(name: Json | undefined): Json {
  return typeof name === 'string' ? (CLASS_ALIASES[name] ?? name) : (name ?? null);
}

function stripKeras3(o: JsonObject): void {
  for (const k of KERAS3_ONLY) delete o[k];
}

function normalizeLayer(entry: JsonObject, problems: FieldProblem[]): void {
  stripKeras3(entry);
  const className = String(entry.class_name);
  if (!isObject(entry.config)) return;
  const config = entry.config;
  const name = typeof config.name === 'string' ? config.name : String(entry.name ?? '?');
  const refuse = (reason: string) => problems.push(modelProblem(`layer '${name}' (${className}): ${reason}`));
  if (CONTAINERS.has(className)) return; // nested models are refused by the graph reader

  normalizeLayerConfig(className, config, refuse);
  for (const [key, value] of Object.entries(config)) config[key] = normalizeValue(key, value, refuse);
  if (Array.isArray(entry.inbound_nodes)) entry.inbound_nodes = entry.inbound_nodes.map(keras2Node);
}

function normalizeLayerConfig(className: string, config: JsonObject, refuse: (reason: string) => void): void {
  if ('batch_shape' in config) {
    if (!('batch_input_shape' in config)) config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  if (config.optional === true) refuse('optional inputs are not supported');
  delete config.optional;
  const mustBe = (key: string, allowed: Json[], reason: string) => {
    if (key in config && !allowed.includes(config[key]!)) refuse(`${reason} (${key}: ${JSON.stringify(config[key])})`);
    delete config[key];
  };
  mustBe('groups', [1, null], 'grouped convolutions are not supported');
  mustBe('lora_rank', [null], 'LoRA-adapted layers are not supported: merge the adapter into the kernel first');
  delete config.lora_alpha;
  mustBe('quantization_config', [null], 'the layer is already quantized');
  if (className === 'BatchNormalization') {
    mustBe('renorm', [false], 'batch renormalization is not supported');
    mustBe('virtual_batch_size', [null], 'ghost batch normalization is not supported');
    mustBe('adjustment', [null], 'a batch-norm adjustment function is not supported');
    for (const k of ['renorm_clipping', 'renorm_momentum', 'synchronized', 'fused']) delete config[k];
  }
  if (className === 'LeakyReLU' && 'negative_slope' in config) {
    config.alpha = config.negative_slope; // Keras 3 renamed it
    delete config.negative_slope;
  }
  if (className === 'ReLU') {
    mustBe('negative_slope', [0, null], 'a ReLU with a negative slope is not supported (use LeakyReLU)');
    mustBe('threshold', [0, null], 'a ReLU with a threshold is not supported');
  }
  if (className === 'GlobalAveragePooling2D' || className === 'GlobalMaxPooling2D') mustBe('keepdims', [false, null], 'keepdims is not supported');
}

function normalizeValue(key: string, value: Json, refuse: (reason: string) => void): Json {
  if (key === 'dtype') return dtypeOf(value, refuse);
  if (key === 'activation') return activationOf(value, refuse);
  return normalizeNested(value);
}

/** Initializers, regularizers and constraints: Keras 3 decorations off, names tfjs knows. */
function normalizeNested(value: Json): Json {
  if (Array.isArray(value)) return value.map(normalizeNested);
  if (!isObject(value)) return value;
  if (typeof value.class_name === 'string') {
    stripKeras3(value);
    value.class_name = alias(value.class_name);
    // tfjs-layers has only the combined L1L2 regularizer.
    if ((value.class_name === 'L1' || value.class_name === 'L2') && isObject(value.config)) {
      const c = value.config;
      value.config = { l1: value.class_name === 'L1' ? (c.l1 ?? 0.01) : 0, l2: value.class_name === 'L2' ? (c.l2 ?? 0.01) : 0 };
      value.class_name = 'L1L2';
    }
  }
  for (const [k, v] of Object.entries(value)) value[k] = normalizeNested(v);
  return value;
}

/** A DTypePolicy / mixed-precision Policy object becomes its dtype; only float32 trains here. */
function dtypeOf(value: Json, refuse: (reason: string) => void): Json {
  const name = isObject(value) && isObject(value.config) ? value.config.name : value;
  if (name !== 'float32' && name !== null && name !== undefined) refuse(`dtype ${JSON.stringify(name)} is not supported (float32 only)`);
  return 'float32';
}

function activationOf(value: Json, refuse: (reason: string) => void): Json {
  // Keras 3 may serialise a built-in activation as {class_name: 'function', config: 'relu'}.
  const raw = isObject(value) ? (typeof value.config === 'string' ? value.config : value.class_name) : value;
  if (raw === null || raw === undefined) return 'linear';
  const name = typeof raw === 'string' ? (ACTIVATION_ALIASES[raw] ?? raw) : raw;
  if (typeof name !== 'string' || !TFJS_ACTIVATIONS.has(name)) refuse(`activation ${JSON.stringify(name)} is not supported`);
  return name;
}

/** [[layer, node, tensor, kwargs], …] from Keras 3's {args: [tensor | [tensors]], kwargs}. */
function keras2Node(node: Json): Json {
  if (!isObject(node) || !('args' in node)) return node;
  const refs: Json[] = [];
  const collect = (arg: Json) => {
    if (Array.isArray(arg)) return arg.forEach(collect);
    const history = kerasHistory(arg);
    if (history) refs.push([history[0]!, history[1] ?? 0, history[2] ?? 0, {}]);
  };
  collect(Array.isArray(node.args) ? node.args : []);
  return refs;
}

function kerasHistory(arg: Json): Json[] | null {
  if (!isObject(arg)) return null;
  const history = isObject(arg.config) ? arg.config.keras_history : arg.keras_history;
  return Array.isArray(history) && typeof history[0] === 'string' ? history : null;
}
