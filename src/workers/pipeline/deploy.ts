// The deployable files of a run — int8 and float ONNX, TF.js with quantized weights, the model card —
// and their verification in ONNX Runtime on the test split (accuracy, agreement with the integer
// reference, latency and throughput), for the report. A format the model cannot be written in is
// refused with its reasons; the other formats and the report still ship.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { IntModel } from '../../core/convert/types.js';
import type { Dataset } from '../../core/train/dataset.js';
import type { Task } from '../../core/train/task.js';
import { buildModelCard, type CardFile, ExportError, exportFloatOnnx, exportOnnx, exportTfjsInt8, foldedFloatWeights, TFJS_WEIGHTS_PATH, verifyOnnx } from '../../export/index.js';
import { finite, type ReportInputs, type RunReport } from '../../export/report/index.js';
import type { ArtifactSink } from './types.js';

export interface DeployInputs {
  intModel: IntModel;
  qatModel: LayersModel;
  test: Dataset;
  task: Task;
  labels?: string[];
  quantization: object;
  preprocessing: object;
  provenance: object;
  sink: ArtifactSink;
}

export interface DeployResult {
  deployed?: ReportInputs['deployed'];
  refused: NonNullable<RunReport['exports_refused']>;
}

/** Runs a writer; an ExportError becomes refusals (anything else is a bug and propagates). */
async function attempt<T>(refused: DeployResult['refused'], write: () => T | Promise<T>): Promise<T | null> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof ExportError)) throw err;
    for (const issue of err.issues) refused.push({ format: err.format, layer: issue.layer, reason: issue.reason });
    return null;
  }
}

export async function deploy(d: DeployInputs): Promise<DeployResult> {
  const refused: DeployResult['refused'] = [];
  const onnxInt8 = await attempt(refused, () => exportOnnx(d.intModel, { variant: 'int8' }));
  const onnxFloat = await attempt(refused, () => exportFloatOnnx(d.intModel, foldedFloatWeights(d.intModel, d.qatModel)));
  const tfjs = await attempt(refused, () => exportTfjsInt8(d.intModel));
  const files: CardFile[] = [];
  if (onnxInt8) files.push({ name: 'model.int8.onnx', bytes: onnxInt8, format: 'onnx-int8' });
  if (onnxFloat) files.push({ name: 'model.float.onnx', bytes: onnxFloat, format: 'onnx-float' });
  let tfjsBytes = 0;
  if (tfjs) {
    const json = JSON.stringify(tfjs.modelJson);
    tfjsBytes = Buffer.byteLength(json) + tfjs.weights.byteLength;
    files.push({ name: 'tfjs-int8/model.json', bytes: json, format: 'tfjs-model-json' }, { name: `tfjs-int8/${TFJS_WEIGHTS_PATH}`, bytes: tfjs.weights, format: 'tfjs-weights' });
  }
  for (const f of files) await d.sink.write(f.name, f.format, f.bytes);

  let deployed: DeployResult['deployed'];
  if (onnxInt8 && onnxFloat) {
    const int8 = await verifyOnnx(onnxInt8, d.test, { reference: d.intModel, timing: true });
    const float = await verifyOnnx(onnxFloat, d.test, { timing: true });
    deployed = {
      metrics: { onnx_int8: int8.metrics, onnx_float: float.metrics },
      agreement: {
        onnx_int8_vs_reference: d.task === 'classification' ? finite(int8.reference?.agreement) : null,
        max_abs_logit_diff: finite(int8.reference?.maxAbsLogitDiff),
      },
      size_bytes: { onnx_float: onnxFloat.byteLength, onnx_int8: onnxInt8.byteLength, tfjs_int8: tfjsBytes },
      latency_ms: { onnx_float: float.timing!.latencyMs.median, onnx_int8: int8.timing!.latencyMs.median },
      throughput: { onnx_float: float.timing!.throughput.samplesPerS, onnx_int8: int8.timing!.throughput.samplesPerS },
    };
  }
  const card = buildModelCard({
    model: d.intModel,
    task: d.task,
    ...(d.labels ? { labels: d.labels } : {}),
    quantization: d.quantization,
    preprocessing: d.preprocessing,
    metrics: deployed ?? {},
    files,
    ...(onnxInt8 ? {} : { onnxActivationType: null }),
    provenance: d.provenance,
  });
  await d.sink.write('model-card.json', 'model-card', `${JSON.stringify(card, null, 2)}\n`);
  return { ...(deployed ? { deployed } : {}), refused };
}
