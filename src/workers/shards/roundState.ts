// Where a round's states live in the artifact store, as binary state files (src/core/train/stateCodec).
// The default local-disk store makes this one-machine only: workers on several machines need a store
// they all reach (DESIGN §5).
import type { TrainState } from '../../core/train/state.js';
import { decodeState, encodeState } from '../../core/train/stateCodec.js';
import { roundsPrefix } from '../../services/jobRuns.js';
import type { BlobStore } from '../../storage/blobStore.js';


export const roundFolder = (jobId: string, attempt: number, phase: string, round: number): string =>
  `${roundsPrefix(jobId)}a${attempt}-${phase === 'TRAINING_FLOAT' ? 'float' : 'qat'}-r${round}`;

export const stateKeys = (folder: string) => ({
  global: `${folder}/global.bin`,
  shard: (k: number) => `${folder}/shard-${k}.bin`,
  merged: `${folder}/merged.bin`,
});

/** Returns the file's size. */
export async function writeState(store: BlobStore, key: string, state: TrainState): Promise<number> {
  const bytes = encodeState(state);
  await store.put(key, bytes);
  return bytes.byteLength;
}

export async function readState(store: BlobStore, key: string): Promise<TrainState> {
  return decodeState(await store.read(key)) as TrainState;
}
