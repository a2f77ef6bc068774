// Everything the ONNX writers refuse, found before a single node is written: one ExportError lists
// every offending layer with the reason, and no partial or approximate file is ever returned.
import type { IntModel, IntOp } from '../../core/convert/types.js';
import { type ExportFormat, IssueList } from '../errors.js';
import { hasOnnxActivation } from './activations.js';
import type { FloatWeights } from './floatLowering.js';
import { floatIslandProblem } from './floatIslands.js';

const KNOWN: ReadonlySet<string> = new Set<IntOp['kind']>([
  'quantize', 'dequantize', 'dense', 'conv2d', 'depthwise', 'maxpool', 'avgpool', 'globalavgpool', 'globalmaxpool',
  'flatten', 'reshape', 'add', 'average', 'maximum', 'minimum', 'concat', 'softmax', 'activation', 'float',
]);

export function checkIntModel(model: IntModel, format: ExportFormat, issues: IssueList): void {
  if (model.format !== 'qat-int-model' || model.version !== 1) {
    issues.add(model.name ?? '(model)', 'model', `not an IntModel version 1 (format ${JSON.stringify(model.format)}, version ${JSON.stringify(model.version)})`);
    issues.throwIfAny(format);
  }
  for (const name of model.inputs) {
    if (model.tensors[name]?.dtype !== 'float32') issues.add(name, 'input', 'model inputs must be float32');
  }
  for (const op of model.ops) {
    if (!KNOWN.has(op.kind)) issues.add(op.layer, String(op.kind), `op kind '${String(op.kind)}' is unknown to the ${format} writer`);
  }
}

export function checkOnnx(model: IntModel, format: 'onnx-int8' | 'onnx-float', weights?: FloatWeights): void {
  const issues = new IssueList();
  checkIntModel(model, format, issues);
  for (const op of model.ops) {
    if (op.kind === 'float') {
      const problem = floatIslandProblem(model, op);
      if (problem) issues.add(op.layer, `float ${op.className}`, problem);
    }
    if (format === 'onnx-float' && op.kind === 'activation' && !hasOnnxActivation(op.activation)) {
      issues.add(op.layer, op.kind, `activation '${op.activation}' has no float ONNX operator here`);
    }
    if (format === 'onnx-float' && (op.kind === 'dense' || op.kind === 'conv2d' || op.kind === 'depthwise')) {
      for (const t of op.inputs.slice(1)) {
        const size = model.tensors[t]!.shape.reduce((a, b) => a * b, 1);
        const w = weights?.[t];
        if (!w) issues.add(op.layer, op.kind, `no float32 values given for ${t}`);
        else if (w.length !== size) issues.add(op.layer, op.kind, `${t}: ${w.length} float32 values given for shape [${model.tensors[t]!.shape}]`);
      }
    }
  }
  issues.throwIfAny(format);
}
