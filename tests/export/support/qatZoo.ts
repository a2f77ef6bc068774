// A short real QAT of a zoo model on MNIST (WASM backend): prepareQat straight from the seeded float
// initialisation, `epochs` epochs of QAT with Adam, observers and BN frozen for the last epoch (the
// torchvision recipe), converted to an IntModel. Enough training for accuracies far above chance, so
// an export that scrambles weights or layouts shows up as lost accuracy, not just as differing numbers.
import type * as tfl from '@tensorflow/tfjs-layers';
import { convert, type IntModel } from '../../../src/core/convert/index.js';
import type { QatConfig } from '../../../src/core/qat/config.js';
import { applySchedule, setQatMode } from '../../../src/core/qat/mode.js';
import { prepareQat } from '../../../src/core/qat/prepare.js';
import type { Dataset } from '../../../src/core/train/dataset.js';
import { Trainer } from '../../../src/core/train/trainer.js';
import { buildModel, type ModelName } from '../../../src/core/zoo/index.js';
import { selectBackend } from '../../../src/engine/backend.js';
import { loadMnist } from '../../support/datasets.js';
import { accuracyOf, predictAll } from './predict.js';

export interface TrainedZoo {
  name: ModelName;
  intModel: IntModel;
  /** The prepared QAT model (observers and BN frozen): the source of the float ONNX weights. */
  qatModel: tfl.LayersModel;
  train: Dataset;
  /** Held out: never trained or calibrated on. */
  test: Dataset & { y: Int32Array };
  /** Accuracy of the QAT simulation (model.predict) on the test split. */
  simulatedAccuracy: number;
}

export interface ZooOptions {
  width?: number;
  train?: number;
  test?: number;
  epochs?: number;
  /** Adam learning rate (default 2e-3). */
  lr?: number;
  seed?: number;
  qat?: Partial<QatConfig>;
}

export async function trainZoo(name: ModelName, o: ZooOptions = {}): Promise<TrainedZoo> {
  await selectBackend('wasm');
  const { train, test } = loadMnist({ train: o.train ?? 3000, test: o.test ?? 1000, seed: o.seed ?? 0 });
  const float = buildModel(name, { inputShape: [28, 28, 1], classes: 10, width: o.width ?? 1, seed: o.seed ?? 0 });
  const prepared = prepareQat(float, o.qat ?? {});
  float.dispose();
  const epochs = o.epochs ?? 2;
  const trainer = new Trainer(prepared.model, train, { task: 'classification', batchSize: 64, optimizer: { kind: 'adam' }, lr: { lr: o.lr ?? 2e-3 }, seed: o.seed ?? 0 });
  const last = epochs - 1;
  await trainer.fit({ epochs, callbacks: { onEpochStart: (epoch) => applySchedule(prepared.model, epoch, { freezeObserversAtEpoch: last, freezeBatchNormAtEpoch: last }) } });
  trainer.dispose();
  setQatMode(prepared.model, { observersFrozen: true, batchNormFrozen: true });
  const intModel = convert(prepared.model, { name });
  const simulatedAccuracy = accuracyOf(predictAll(prepared.model, test.x, test.sampleShape), test.y);
  return { name, intModel, qatModel: prepared.model, train, test, simulatedAccuracy };
}
