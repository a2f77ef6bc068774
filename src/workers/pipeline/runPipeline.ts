// The QAT pipeline behind `qat run` and behind every job: prepare the data, train float if the model has
// no weights, compare PTQ with QAT, convert to int8, export and verify the deployable files, and write
// report.json last (its artifact list covers every other file).
import { createHash } from 'node:crypto';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as tf from '../../core/tf.js';
import { type CheckpointOptions, type CompareCheckpoint, decodeCheckpoint, encodeCheckpoint } from '../../core/pipeline/checkpoint.js';
import { type CompareDataParallel, compareQuantization, type PhaseHistory } from '../../core/pipeline/compare.js';
import { localDataParallel } from '../../core/pipeline/localDataParallel.js';
import { datasetLength } from '../../core/train/dataset.js';
import { buildRunReport, dataParallelReport, renderReportHtml, type RunReport } from '../../export/report/index.js';
import type { RunConfig } from '../../services/runConfig.js';
import { deploy } from './deploy.js';
import { type PreparedPipeline, preparePipeline } from './preparePipeline.js';
import type { ArtifactRecord, ArtifactSink, PipelineCheckpoints, PipelineData, PipelineModel, PipelineProgress } from './types.js';

export interface PipelineInputs {
  data: PipelineData;
  model: PipelineModel;
  config: RunConfig;
  backend: string;
  sink: ArtifactSink;
  progress: PipelineProgress;
  versions: Record<string, string>;
  signal?: AbortSignal;
  /** Checkpoint/resume of the training phases (workers); absent = none taken (`qat run`). */
  checkpoints?: PipelineCheckpoints;
  /** Trains data-parallel when config.shards > 1: how rounds run (BullMQ flows for jobs, in turn for `qat run`). */
  dataParallel?: (prepared: PreparedPipeline) => CompareDataParallel;
}

const phaseReport = (h: PhaseHistory, samplesPerS: number | undefined): NonNullable<RunReport['train']['float']> => ({
  epochs_run: h.epochsRun,
  best_epoch: h.bestEpoch === undefined || h.bestEpoch === null ? null : h.bestEpoch + 1,
  stopped_early: h.stoppedEarly,
  samples_per_s: samplesPerS !== undefined && Number.isFinite(samplesPerS) ? samplesPerS : null,
  history: h.history.map((e) => ({
    epoch: e.epoch + 1,
    loss: e.loss,
    ...(e.accuracy !== undefined ? { accuracy: e.accuracy } : {}),
    ...(e.valLoss !== undefined ? { val_loss: e.valLoss } : {}),
    ...(e.valAccuracy !== undefined ? { val_accuracy: e.valAccuracy } : {}),
  })),
});

async function saveQatModel(model: LayersModel, sink: ArtifactSink): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      await sink.write('qat-model/weights.bin', 'tfjs-qat-weights', new Uint8Array(a.weightData as ArrayBuffer));
      const json = JSON.stringify({ modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] });
      await sink.write('qat-model/model.json', 'tfjs-qat-model', json);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** Without workers, the shards of a round train one after another in this process (same arithmetic). */
const localShards = (p: PreparedPipeline): CompareDataParallel =>
  localDataParallel({ shards: p.config.shards, syncEvery: p.config.sync_every, merge: { activationObserver: 'ema' }, transformBatch: () => p.transformBatch });

/** The comparison's checkpoint options for the caller's byte-level ones: a checkpoint is tied to the run's
 *  configuration, data and model, and one that cannot be read is reported and ignored (training starts afresh). */
function checkpointOptions(ck: PipelineCheckpoints, i: PipelineInputs, config: RunConfig): CheckpointOptions {
  const key = createHash('sha256')
    .update(JSON.stringify({ config, data: i.data.sha256, model: { name: i.model.name, source: i.model.source } }))
    .digest('hex');
  let resume: CompareCheckpoint | undefined;
  if (ck.resume) {
    try {
      resume = decodeCheckpoint(ck.resume);
    } catch (err) {
      ck.onResume?.({ resumed: false, reason: (err as Error).message });
    }
  }
  return {
    key,
    ...(resume ? { resume } : {}),
    ...(ck.onResume ? { onResume: (r) => ck.onResume!(r) } : {}),
    save: (c, info) => ck.save(encodeCheckpoint(c), info),
    ...(ck.handoverRequested ? { handoverRequested: () => ck.handoverRequested!() } : {}),
    ...(ck.intervalMs !== undefined ? { intervalMs: ck.intervalMs } : {}),
  };
}

export async function runPipeline(i: PipelineInputs): Promise<RunReport> {
  const started = performance.now();
  const written: ArtifactRecord[] = [];
  const sink: ArtifactSink = {
    write: async (name, kind, bytes) => {
      const record = await i.sink.write(name, kind, bytes);
      written.push(record);
      return record;
    },
  };
  const { config, prepared, head, transformBatch } = await preparePipeline(i.data, i.model, i.config);
  const dataParallel = config.shards > 1 ? (i.dataParallel ?? localShards)({ config, prepared, head, transformBatch }) : undefined;
  try {
    const quant = await compareQuantization(head.model, prepared.train, prepared.test, {
      task: i.data.task,
      floatEpochs: config.epochs,
      qatEpochs: config.qat_epochs,
      batchSize: config.batch_size,
      optimizer: { kind: 'adam' },
      lr: config.lr,
      qatLr: config.qat_lr,
      seed: config.seed,
      qat: { weightBits: config.weight_bits, activationBits: config.activation_bits, perChannel: config.per_channel },
      calibration: { samples: config.calibration_samples, observer: config.observer },
      ...(prepared.validation ? { validation: prepared.validation } : {}),
      ...(config.patience > 0 ? { earlyStopping: { patience: config.patience } } : {}),
      transformBatch,
      onPhase: (p) => i.progress.phase(p),
      callbacks: i.progress.callbacks,
      ...(i.signal ? { signal: i.signal } : {}),
      ...(i.checkpoints ? { checkpoint: checkpointOptions(i.checkpoints, i, config) } : {}),
      ...(dataParallel ? { dataParallel } : {}),
    });
    try {
      i.progress.phase('EXPORTING');
      await saveQatModel(quant.qatModel, sink);
      const sampleShape = prepared.train.sampleShape;
      const outputShape = head.model.outputs[0]!.shape.slice(1) as number[];
      const preprocessing = {
        ...(i.data.scale ? { scale: i.data.scale } : {}),
        ...(i.data.tabular ? { tabular: i.data.tabular } : {}),
        ...(prepared.standardization ? { standardize: prepared.standardization } : {}),
        ...(head.removedSoftmax ? { output: 'logits (the softmax head was removed for training; apply softmax for probabilities)' } : {}),
      };
      const { deployed, refused } = await deploy({
        intModel: quant.intModel,
        qatModel: quant.qatModel,
        test: prepared.test,
        task: i.data.task,
        ...(i.data.classNames ? { labels: i.data.classNames } : {}),
        quantization: { weight_bits: config.weight_bits, activation_bits: config.activation_bits, per_channel: config.per_channel, observer: config.observer },
        preprocessing,
        provenance: { dataset: i.data.name, dataset_sha256: i.data.sha256, model: i.model.name, seed: config.seed, versions: i.versions },
        sink,
      });
      const report = buildRunReport({
        quant,
        dataset: {
          name: i.data.name,
          format: i.data.format,
          sha256: i.data.sha256,
          samples: { train: datasetLength(prepared.train), validation: prepared.validation ? datasetLength(prepared.validation) : 0, test: datasetLength(prepared.test) },
          sample_shape: sampleShape,
          features: sampleShape.reduce((a, b) => a * b, 1),
          classes: i.data.classes,
          ...(i.data.classNames ? { class_names: i.data.classNames } : {}),
          test_source: i.data.testSource,
          ...(i.data.licence ? { licence: i.data.licence } : {}),
        },
        preprocessing,
        ...(deployed ? { deployed } : {}),
        exportsRefused: refused,
        model: { name: i.model.name, source: i.model.source, params: head.model.countParams(), input_shape: sampleShape, output_shape: outputShape },
        backend: i.backend,
        config,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        artifacts: written,
        versions: i.versions,
        train: {
          float: phaseReport(quant.float.training, quant.float.samplesPerS),
          qat: phaseReport(quant.qat.training, quant.qat.samplesPerS),
          ...(dataParallel ? { data_parallel: dataParallelReport(dataParallel.shards, dataParallel.syncEvery, dataParallel.costs?.()) } : {}),
        },
      });
      await i.sink.write('report.json', 'report', `${JSON.stringify(report, null, 2)}\n`);
      await i.sink.write('report.html', 'report-html', renderReportHtml(report));
      return report;
    } finally {
      quant.qatModel.dispose();
    }
  } finally {
    if (head.model !== i.model.model) head.model.dispose();
  }
}
