// convert: a prepared QAT model (prepareQat's LayersModel, ranges observed) → its IntModel description.
// Walks the prepared graph in topological order. The layer kinds it meets are the ones prepareQat
// writes: InputLayer → QatQuantize (model input); QatLinear; data movers (cloned); a cloned layer that
// computes new values followed by its QatQuantize (requantized op, or a float island when the op has no
// integer form); finally each output is dequantized to float.
import type { LayersModel, layers as tflLayers } from '@tensorflow/tfjs-layers';
import { QatLinear } from '../qat/layers/qatLinear.js';
import { QatQuantize } from '../qat/layers/qatQuantize.js';
import { activationParams } from './activationParams.js';
import { ConversionError } from './errors.js';
import { convertFloatLayer, dequantized } from './floatIsland.js';
import { activationShape, GraphBuilder } from './graph.js';
import { convertDataMoving, convertRequantized, DATA_MOVING, isRequantizable, VANISHING } from './layers.js';
import { convertLinear, linearProblems } from './linear.js';
import { buildReport } from './report.js';
import type { IntModel } from './types.js';

type Layer = tflLayers.Layer;

function inboundLayers(layer: Layer): Layer[] {
  const nodes = (layer as unknown as { inboundNodes: { inboundLayers: Layer[] }[] }).inboundNodes;
  return nodes[0]?.inboundLayers ?? [];
}

function consumers(layer: Layer): Layer[] {
  return (layer as unknown as { outboundNodes: { outboundLayer: Layer }[] }).outboundNodes.map((n) => n.outboundLayer);
}

/** Refuses (ConversionError naming every offending layer) what has no int8 form or was never observed. */
export function convert(prepared: LayersModel, options: { name?: string } = {}): IntModel {
  const g = new GraphBuilder();
  checkModel(g, prepared);
  if (g.issues.length > 0) throw new ConversionError(g.issues);

  // Prepared layer name → the IntModel tensor holding its output.
  const produced = new Map<string, string>();
  const inputs: string[] = [];
  const inputOf = (l: Layer) => inboundLayers(l).map((s) => produced.get(s.name));
  for (const layer of prepared.layers) {
    const c = layer.getClassName();
    if (layer instanceof QatQuantize) {
      // Its input is the float output of the layer it requantizes; that layer's own inputs are what count.
      const out = convertQuantize(g, layer, inputOf);
      if (out) produced.set(layer.name, out);
      continue;
    }
    const ins = inputOf(layer);
    // A producer that failed has been reported already; its consumers cannot be converted.
    if (ins.some((n) => n === undefined)) continue;
    const sources = ins as string[];
    if (c === 'InputLayer') {
      const shape = activationShape(layer.outputShape as (number | null)[]);
      if (!shape) g.issue(layer.name, c, `input shape ${JSON.stringify(layer.outputShape)} has unknown dimensions`);
      else produced.set(layer.name, g.float(layer.name, shape));
      if (shape) inputs.push(layer.name);
    } else if (layer instanceof QatLinear) {
      produced.set(layer.name, convertLinear(g, layer, sources[0]!));
    } else if (VANISHING.has(c)) {
      produced.set(layer.name, sources[0]!);
    } else if (DATA_MOVING.has(c) && !isQuantized(layer)) {
      const out = convertDataMoving(g, layer, sources[0]!);
      if (out) produced.set(layer.name, out);
    }
    // Anything else computes a float value that its QatQuantize (checked above) converts.
  }
  if (g.issues.length > 0) throw new ConversionError(g.issues);

  const outputs = prepared.outputs.map((t) => dequantized(g, produced.get((t.sourceLayer as Layer).name)!, (t.sourceLayer as Layer).name));
  return {
    format: 'qat-int-model',
    version: 1,
    name: options.name ?? prepared.name,
    inputs,
    outputs,
    tensors: g.tensors,
    ops: g.ops,
    report: buildReport(g.tensors, g.ops),
  };
}

/** A layer whose only consumer is a QatQuantize: its output is float and requantized. */
function isQuantized(layer: Layer): boolean {
  const next = consumers(layer);
  return next.length === 1 && next[0] instanceof QatQuantize;
}

/** Every refusal that does not depend on conversion order, so one error lists them all. */
function checkModel(g: GraphBuilder, model: LayersModel): void {
  const outputLayers = new Set(model.outputs.map((t) => (t.sourceLayer as Layer).name));
  for (const layer of model.layers) {
    const c = layer.getClassName();
    if (layer instanceof QatLinear) {
      for (const p of linearProblems(layer)) g.issue(layer.name, c, p);
    } else if (layer instanceof QatQuantize) {
      const p = activationParams(layer.rangeVars(), layer.args.output);
      if ('problem' in p) g.issue(layer.name, c, p.problem);
      const source = inboundLayers(layer)[0];
      if (source && source instanceof QatLinear) g.issue(layer.name, c, 'quantizer after a QatLinear is not a graph prepareQat writes');
    } else if (c === 'InputLayer' || VANISHING.has(c) || (DATA_MOVING.has(c) && !isQuantized(layer))) {
      continue;
    } else if (!isQuantized(layer) || outputLayers.has(layer.name)) {
      g.issue(layer.name, c, 'layer has no int8 equivalent and no output quantizer (not a model prepareQat produced?)');
    }
  }
  for (const t of model.inputs) {
    const source = t.sourceLayer as Layer;
    const next = consumers(source);
    if (next.length === 0 || next.some((l) => !(l instanceof QatQuantize))) g.issue(source.name, 'InputLayer', 'model input is not quantized first (not a prepareQat model?)');
  }
}

/** A QatQuantize: the model input's quantize op, the requantized op before it, or the end of a float island. */
function convertQuantize(g: GraphBuilder, layer: QatQuantize, inputOf: (l: Layer) => (string | undefined)[]): string | null {
  const p = activationParams(layer.rangeVars(), layer.args.output);
  if ('problem' in p) throw new Error(`internal: ${layer.name}: ${p.problem}`);
  const source = inboundLayers(layer)[0]!;
  const sourceInputs = inputOf(source);
  if (sourceInputs.some((n) => n === undefined)) return null;
  const ins = sourceInputs as string[];
  const sc = source.getClassName();
  if (sc === 'InputLayer') {
    if (!g.has(source.name)) return null;
    g.activation(layer.name, g.tensor(source.name).shape, p.quant, p.range);
    g.op({ kind: 'quantize', name: layer.name, layer: layer.name, inputs: [source.name], outputs: [layer.name] });
    return layer.name;
  }
  // The int8 tensor is named after the layer that computed it ('add', not 'add_quant').
  const outName = source.name;
  const ok = isRequantizable(source) ? convertRequantized(g, source, ins, p.quant, p.range, outName) : convertFloatLayer(g, source, ins, p.quant, p.range, outName);
  return ok ? outName : null;
}
