// The layer graph of a (normalised) Keras model config: one node per layer with the layers it reads,
// in an order where every layer comes after its inputs. Only what the project can train is accepted:
// one input, one output, layer classes from LAYER_RULES, each layer called once, no nested models.
import type { FieldProblem } from '../../errors/index.js';
import { modelProblem, refuse } from './errors.js';
import { isObject, type Json, type JsonObject } from './json.js';
import { LAYER_RULES } from './layerRules.js';
import type { Shape } from './layerConfig.js';

export interface LayerNode {
  name: string;
  className: string;
  config: JsonObject;
  /** Names of the layers whose outputs this layer reads, in argument order. */
  inputs: string[];
}

export interface ModelGraph {
  name: string;
  /** Topological order, the input layer first. */
  layers: LayerNode[];
  input: { name: string; shape: Shape };
  output: string;
}

const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

interface Entry {
  className: string;
  config: JsonObject;
  name: string;
  raw: JsonObject;
}

/** Reads `topology` (normalised); may add names and a batch_input_shape that TF.js then uses too. */
export function readGraph(topology: JsonObject, maxLayers: number): ModelGraph {
  const problems: FieldProblem[] = [];
  const config = topology.config as JsonObject;
  const rawLayers = config.layers as Json[];
  if (rawLayers.length === 0) refuse([modelProblem('the model has no layers')]);
  if (rawLayers.length > maxLayers) refuse([modelProblem(`the model has ${rawLayers.length} layers, over the limit of ${maxLayers}`)]);

  const entries: Entry[] = [];
  rawLayers.forEach((raw, i) => {
    if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) {
      problems.push(modelProblem(`layer #${i + 1} is not a {class_name, config} object`));
      return;
    }
    const c = raw.config;
    // Hand-written Keras JSON may leave names out; name them as Keras would, so weights can refer to them.
    if (typeof c.name !== 'string') c.name = typeof raw.name === 'string' ? raw.name : `${snake(raw.class_name)}_${i + 1}`;
    entries.push({ className: raw.class_name, config: c, name: c.name as string, raw });
  });
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) problems.push(modelProblem(`two layers are named '${e.name}'`));
    seen.add(e.name);
    if (CONTAINERS.has(e.className)) problems.push(modelProblem(`layer '${e.name}' is a nested model (${e.className}): export a flat model`));
    else if (e.className !== 'InputLayer' && !LAYER_RULES[e.className]) problems.push(modelProblem(`layer '${e.name}' has the unknown layer class ${e.className}`));
  }
  refuse(problems);
  const name = typeof config.name === 'string' ? config.name : 'model';
  return topology.class_name === 'Sequential' ? sequential(name, config, entries) : functional(name, config, entries);
}

function inputShape(e: Entry, problems: FieldProblem[]): Shape {
  const c = e.config;
  const batch = c.batch_input_shape ?? (Array.isArray(c.input_shape) ? [null, ...c.input_shape] : undefined);
  if (!Array.isArray(batch) || batch.length < 2) {
    problems.push(modelProblem(`input '${e.name}' declares no input shape (batch_input_shape)`));
    return [];
  }
  const dims = batch.slice(1);
  if (!dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)) {
    problems.push(modelProblem(`input '${e.name}' has shape ${JSON.stringify(batch)}: only inputs of a fixed size are supported`));
  }
  if (c.sparse === true || c.ragged === true) problems.push(modelProblem(`input '${e.name}': sparse and ragged inputs are not supported`));
  return dims as number[];
}

function sequential(name: string, config: JsonObject, entries: Entry[]): ModelGraph {
  const problems: FieldProblem[] = [];
  const [first, ...rest] = entries as [Entry, ...Entry[]];
  let input: { name: string; shape: Shape };
  let body: Entry[];
  if (first.className === 'InputLayer') {
    input = { name: first.name, shape: inputShape(first, problems) };
    body = rest;
  } else {
    // Keras 3 keeps the shape a Sequential model was built for beside its layers.
    if (first.config.batch_input_shape === undefined && Array.isArray(config.build_input_shape)) first.config.batch_input_shape = config.build_input_shape;
    input = { name: `${first.name}_input`, shape: inputShape(first, problems) };
    body = entries;
  }
  for (const e of body) if (e.className === 'InputLayer') problems.push(modelProblem(`input layer '${e.name}' is not the first layer of the Sequential model`));
  if (body.length === 0) problems.push(modelProblem('the model has no layers after its input'));
  refuse(problems);
  let previous = input.name;
  const layers: LayerNode[] = [{ name: input.name, className: 'InputLayer', config: {}, inputs: [] }];
  for (const e of body) {
    layers.push({ name: e.name, className: e.className, config: e.config, inputs: [previous] });
    previous = e.name;
  }
  return { name, layers, input, output: previous };
}

/** [[name, node, tensor], …] of input_layers / output_layers; exactly one is supported. */
function endpoint(config: JsonObject, key: 'input_layers' | 'output_layers', what: string, problems: FieldProblem[]): string {
  const refs = config[key];
  if (!Array.isArray(refs) || refs.length !== 1 || !Array.isArray(refs[0]) || typeof refs[0][0] !== 'string') {
    const n = Array.isArray(refs) ? refs.length : 0;
    problems.push(modelProblem(`the model has ${n} ${what}s (${key}); only models with one ${what} are supported`));
    return '';
  }
  return refs[0][0];
}

function functional(name: string, config: JsonObject, entries: Entry[]): ModelGraph {
  const problems: FieldProblem[] = [];
  const inputName = endpoint(config, 'input_layers', 'input', problems);
  const output = endpoint(config, 'output_layers', 'output', problems);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const nodes: LayerNode[] = [];
  let input: { name: string; shape: Shape } | undefined;
  for (const e of entries) {
    const inbound = Array.isArray(e.raw.inbound_nodes) ? e.raw.inbound_nodes : [];
    if (e.className === 'InputLayer') {
      if (e.name !== inputName) problems.push(modelProblem(`input layer '${e.name}' is not the model's input: only models with one input are supported`));
      else input = { name: e.name, shape: inputShape(e, problems) };
      nodes.push({ name: e.name, className: e.className, config: e.config, inputs: [] });
      continue;
    }
    if (inbound.length !== 1) {
      problems.push(modelProblem(inbound.length === 0 ? `layer '${e.name}' is not connected to anything` : `layer '${e.name}' is called ${inbound.length} times: shared layers are not supported`));
      continue;
    }
    const refs = inbound[0];
    const inputs: string[] = [];
    for (const ref of Array.isArray(refs) ? refs : []) {
      if (!Array.isArray(ref) || typeof ref[0] !== 'string' || !byName.has(ref[0])) {
        problems.push(modelProblem(`layer '${e.name}' reads ${JSON.stringify(ref)}, which names no layer of the model`));
      } else if ((ref[1] ?? 0) !== 0 || (ref[2] ?? 0) !== 0) {
        problems.push(modelProblem(`layer '${e.name}' reads output ${JSON.stringify(ref.slice(0, 3))}: only single-output layers called once are supported`));
      } else inputs.push(ref[0]);
    }
    if (inputs.length === 0) problems.push(modelProblem(`layer '${e.name}' has no inputs`));
    nodes.push({ name: e.name, className: e.className, config: e.config, inputs });
  }
  if (output && !byName.has(output)) problems.push(modelProblem(`output_layers names '${output}', which is no layer of the model`));
  if (inputName && !input && !problems.length) problems.push(modelProblem(`input_layers names '${inputName}', which is no InputLayer of the model`));
  refuse(problems);
  return { name, layers: topologicalOrder(nodes), input: input!, output };
}

/** Kahn's algorithm; among layers ready at the same time, the config's order. */
function topologicalOrder(nodes: LayerNode[]): LayerNode[] {
  const waiting = new Map(nodes.map((n) => [n.name, new Set(n.inputs).size]));
  const readers = new Map<string, LayerNode[]>(nodes.map((n) => [n.name, []]));
  for (const n of nodes) for (const i of new Set(n.inputs)) readers.get(i)!.push(n);
  const queue = nodes.filter((n) => waiting.get(n.name) === 0);
  const ordered: LayerNode[] = [];
  for (let head = 0; head < queue.length; head++) {
    const n = queue[head]!;
    ordered.push(n);
    for (const r of readers.get(n.name)!) {
      const left = waiting.get(r.name)! - 1;
      waiting.set(r.name, left);
      if (left === 0) queue.push(r);
    }
  }
  if (ordered.length < nodes.length) {
    const stuck = nodes.filter((n) => waiting.get(n.name)! > 0).map((n) => `'${n.name}'`);
    refuse([modelProblem(`layers ${stuck.join(', ')} form a cycle`)]);
  }
  return ordered;
}
