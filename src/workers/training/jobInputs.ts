// A job's dataset and model, read back from the blob store and prepared as `qat run` prepares local
// files: the upload's own test set or a seeded stratified split, a zoo model built for the data or the
// uploaded model imported and checked against it. Bad inputs throw ValidationErrors (the job fails with
// their code, without retries).
import { buildModel, type ModelName, ZooShapeError } from '../../core/zoo/index.js';
import { splitInPlace } from '../../data/index.js';
import { checkCompatibility } from '../../data/model/index.js';
import { storedDatasetInput } from '../../services/datasets.js';
import { type JobInputs, modelIncompatible } from '../../services/jobRuns.js';
import type { RunConfig } from '../../services/runConfig.js';

type StoredDataset = JobInputs['dataset'];
type StoredModel = JobInputs['model'];
import type { BlobStore } from '../../storage/blobStore.js';
import { loadStoredDataset } from '../inspect/datasetInspector.js';
import { importStoredModel } from '../inspect/modelInspector.js';
import type { PipelineData, PipelineModel } from '../pipeline/types.js';

export async function loadJobData(store: BlobStore, dataset: StoredDataset, config: RunConfig): Promise<PipelineData> {
  const input = storedDatasetInput(dataset);
  const loaded = await loadStoredDataset(store, input.files, { ...input.options, ...(config.task ? { task: config.task } : {}) });
  const split = loaded.test ? { train: loaded.train, test: loaded.test } : splitInPlace(loaded.train, loaded.task, { testFraction: config.test_fraction, seed: config.seed });
  const targets = loaded.task === 'regression' ? Math.max(1, loaded.train.y.length / Math.max(1, loaded.train.x.length / loaded.train.sampleShape.reduce((a, b) => a * b, 1))) : loaded.classes;
  return {
    ...split,
    task: loaded.task,
    classes: targets,
    ...(loaded.classNames ? { classNames: loaded.classNames } : {}),
    testSource: loaded.test ? 'given' : 'split',
    format: loaded.format,
    name: dataset.name,
    sha256: dataset.sha256,
    ...(loaded.scale ? { scale: loaded.scale } : {}),
    ...(loaded.schema ? { tabular: loaded.schema } : {}),
  };
}

export async function loadJobModel(store: BlobStore, model: StoredModel, data: PipelineData, config: RunConfig, maxParams: number): Promise<PipelineModel> {
  const zoo = model.info.zoo;
  if (zoo) {
    if (zoo.name !== 'mlp' && data.train.sampleShape.length !== 3) {
      throw modelIncompatible(`zoo:${zoo.name} needs image samples [height, width, channels]; this dataset's samples are [${data.train.sampleShape}] (use zoo:mlp)`);
    }
    try {
      const built = buildModel(zoo.name as ModelName, { inputShape: data.train.sampleShape, classes: data.classes, width: zoo.width, seed: config.seed });
      return { model: built, name: `zoo:${zoo.name}`, source: 'zoo', hasWeights: false };
    } catch (err) {
      if (err instanceof ZooShapeError) throw modelIncompatible(err.message);
      throw err;
    }
  }
  const imported = await importStoredModel(store, model.info.files.map((f) => ({ key: f.key, name: f.name })), { maxParams });
  try {
    checkCompatibility(imported.info, { sampleShape: data.train.sampleShape, task: data.task, classes: data.classes });
  } catch (err) {
    imported.model.dispose();
    throw err;
  }
  return { model: imported.model, name: model.name, source: imported.info.format, hasWeights: imported.info.hasWeights };
}
