// The shard context of a stored job: its dataset and model read back from the artifact store and
// prepared exactly as the job's coordinator prepared them (preparePipeline), so a shard trains on its
// slice of the same training set with a model whose weights the round's global state then replaces.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { prepareQat } from '../../core/qat/prepare.js';
import type { JobInputs } from '../../services/jobRuns.js';
import { resolveRunConfig } from '../../services/runConfig.js';
import type { BlobStore } from '../../storage/blobStore.js';
import { preparePipeline } from '../pipeline/preparePipeline.js';
import { loadJobData, loadJobModel } from '../training/jobInputs.js';
import type { ShardContextLoader } from './shardContext.js';

export function jobShardContextLoader(o: { store: BlobStore; inputs(jobId: string, attempt: number): Promise<JobInputs | null>; maxModelParams: number }): ShardContextLoader {
  return async (jobId, attempt) => {
    const inputs = await o.inputs(jobId, attempt);
    if (!inputs) throw new Error(`job ${jobId} or its inputs are gone`);
    const config = resolveRunConfig(inputs.job.config);
    const data = await loadJobData(o.store, inputs.dataset, config);
    const model = await loadJobModel(o.store, inputs.model, data, config, o.maxModelParams);
    const p = await preparePipeline(data, model, config);
    let qat: LayersModel | undefined;
    return {
      train: p.prepared.train,
      transformBatch: p.transformBatch,
      model: (phase) => {
        if (phase === 'TRAINING_FLOAT') return p.head.model;
        qat ??= prepareQat(p.head.model, { weightBits: config.weight_bits, activationBits: config.activation_bits, perChannel: config.per_channel }).model;
        return qat;
      },
      dispose: () => {
        qat?.dispose();
        if (p.head.model !== model.model) p.head.model.dispose();
        model.model.dispose();
      },
    };
  };
}
