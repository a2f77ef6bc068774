// Assembles report.json from the comparison's results and what the caller knows about the run (data,
// model source, config, artifacts). Infinite or undefined numbers become null: JSON has no Infinity.
import type { DataParallelCosts, QuantReport } from '../../core/pipeline/compare.js';
import type { TaskMetrics } from '../../core/eval/metrics.js';
import { REPORT_VERSION, type RunReport } from './schema.js';

export interface ReportInputs {
  quant: QuantReport;
  dataset: RunReport['dataset'];
  preprocessing: RunReport['preprocessing'];
  model: Omit<RunReport['model'], 'macs_per_sample'>;
  backend: string;
  config: Record<string, unknown>;
  seconds: number;
  artifacts: RunReport['artifacts'];
  versions: Record<string, string>;
  train?: Pick<RunReport['train'], 'float' | 'qat' | 'data_parallel'>;
  exportsRefused?: RunReport['exports_refused'];
  /** Added by the export step (ONNX Runtime verification). */
  deployed?: {
    metrics: { onnx_int8: TaskMetrics; onnx_float: TaskMetrics };
    agreement: { onnx_int8_vs_reference: number | null; max_abs_logit_diff: number | null };
    size_bytes: { onnx_float: number; onnx_int8: number; tfjs_int8: number };
    latency_ms: { onnx_float: number; onnx_int8: number };
    throughput: { onnx_float: number; onnx_int8: number };
  };
}

/** A data-parallel run's `train.data_parallel`: its layout, and what its rounds cost (seconds). */
export function dataParallelReport(shards: number, syncEvery: number, costs: DataParallelCosts | undefined): NonNullable<RunReport['train']['data_parallel']> {
  const seconds = (ms: number) => Math.round(ms) / 1000;
  return {
    shards,
    sync_every: syncEvery,
    transport: costs ? 'bullmq' : 'in-process',
    costs: costs
      ? {
          rounds: costs.rounds,
          round_seconds: seconds(costs.roundMs),
          train_seconds: seconds(costs.trainMs),
          wait_seconds: seconds(costs.waitMs),
          sync_seconds: seconds(Math.max(0, costs.roundMs - costs.trainMs)),
          merge_seconds: seconds(costs.mergeMs),
          state_bytes: costs.stateBytes,
        }
      : null,
  };
}

/** JSON has no Infinity or NaN: such numbers become null. */
export const finite = (v: number | null | undefined): number | null => (v !== undefined && v !== null && Number.isFinite(v) ? v : null);

export function buildRunReport(i: ReportInputs): RunReport {
  const q = i.quant;
  const metrics: Record<string, TaskMetrics> = {
    float: q.float.metrics,
    ptq_weights_only: q.ptqDynamic.metrics,
    ptq_int8: q.ptqStatic.int8Reference,
    qat_simulated: q.qat.metrics,
    qat_int8: q.qat.int8Reference,
    int8_reference: q.qat.int8Reference,
    ...(i.deployed?.metrics ?? {}),
  };
  const key = q.task === 'classification' ? 'accuracy' : 'mse';
  const headline = Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m[key] ?? Number.NaN])) as NonNullable<RunReport['accuracy']>;
  const opByName = new Map(q.intModel.report.ops.map((op) => [op.name, op]));
  return {
    report_version: REPORT_VERSION,
    created_at: new Date().toISOString(),
    task: q.task,
    dataset: i.dataset,
    preprocessing: i.preprocessing,
    model: { ...i.model, macs_per_sample: q.macsPerSample },
    backend: i.backend,
    config: i.config,
    [key]: headline,
    metrics,
    agreement: {
      int8_reference_vs_qat: finite(q.qat.agreement),
      max_abs_output_diff: finite(q.qat.maxAbsOutputDiff),
      ...(i.deployed?.agreement ?? {}),
    },
    size_bytes: { float: q.bytes.float32, int8: q.bytes.total, ...(i.deployed?.size_bytes ?? {}) },
    ...(i.deployed ? { latency_ms: i.deployed.latency_ms, throughput: i.deployed.throughput } : {}),
    train: {
      float_samples_per_s: finite(q.float.samplesPerS),
      qat_samples_per_s: finite(q.qat.samplesPerS),
      seconds: i.seconds,
      ...(i.train ?? {}),
    },
    calibration: q.ptqStatic.calibration,
    layers: q.layers.map((l) => {
      const op = opByName.get(l.name);
      return {
        name: l.name,
        class: op?.kind ?? 'unknown',
        weight_bits: l.weightBits,
        granularity: op?.kind === 'float' ? 'float' : op?.perChannel ? 'per-channel' : 'per-tensor',
        weight_sqnr_db: finite(l.weightSqnrDb),
        output_sqnr_db: finite(l.outputSqnrDb ?? undefined),
        params: l.params,
        macs: l.macs,
      };
    }),
    ...(i.exportsRefused && i.exportsRefused.length > 0 ? { exports_refused: i.exportsRefused } : {}),
    artifacts: i.artifacts,
    versions: i.versions,
  };
}
