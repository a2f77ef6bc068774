// loadModelFile: the CLI's reader of model files, with its size limits and folder confinement.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../../../src/cli/run/loadModel.js';
import { useBackend } from '../../support/backends.js';
import { loadSklearn } from '../../support/datasets.js';
import { FIXTURES, fixtureJson, predict, problem, refusal } from './helpers.js';

beforeAll(() => useBackend('cpu'));

const root = mkdtempSync(path.join(tmpdir(), 'qat-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fixture = (f: string) => fileURLToPath(new URL(f, FIXTURES));
const limits = { maxParams: 100_000 };

type Obj = Record<string, any>;

/** A folder holding the iris model.json, its manifest paths changed to `paths` (files placed there). */
function irisFolder(name: string, weightPath = 'group1-shard1of1.bin'): string {
  const dir = path.join(root, name);
  mkdirSync(path.dirname(path.join(dir, weightPath)), { recursive: true });
  const doc = fixtureJson<Obj>('iris-keras2/model.json');
  doc.weightsManifest[0].paths = [weightPath];
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(doc));
  copyFileSync(fixture('iris-keras2/group1-shard1of1.bin'), path.join(dir, weightPath));
  return dir;
}

describe('loadModelFile', () => {
  it('reads a TF.js model.json with weight files relative to it, also in a sub-folder', async () => {
    const iris = loadSklearn('iris');
    const direct = await loadModelFile(fixture('iris-keras2/model.json'), limits);
    const nested = await loadModelFile(path.join(irisFolder('nested', 'shards/w.bin'), 'model.json'), limits);
    expect(nested.info).toMatchObject({ format: 'tfjs-layers', hasWeights: true, params: 131 });
    const x = iris.test.x as Float32Array;
    expect(predict(nested.model, x, [iris.test.y.length, 4])).toEqual(predict(direct.model, x, [iris.test.y.length, 4]));
    direct.model.dispose();
    nested.model.dispose();
  });

  it('reads a bare Keras JSON, with or without a separate weights manifest', async () => {
    const bare = await loadModelFile(fixture('keras3-residual.json'), limits);
    expect(bare.info).toMatchObject({ format: 'keras-json', hasWeights: false, inputShape: [28, 28, 1] });
    bare.model.dispose();

    const dir = path.join(root, 'keras-with-manifest');
    mkdirSync(dir);
    const doc = fixtureJson<Obj>('iris-keras2/model.json');
    writeFileSync(path.join(dir, 'architecture.json'), JSON.stringify(doc.modelTopology.model_config));
    writeFileSync(path.join(dir, 'weights_manifest.json'), JSON.stringify(doc.weightsManifest));
    copyFileSync(fixture('iris-keras2/group1-shard1of1.bin'), path.join(dir, 'group1-shard1of1.bin'));
    const withWeights = await loadModelFile(path.join(dir, 'architecture.json'), limits, { weightsManifest: path.join(dir, 'weights_manifest.json') });
    expect(withWeights.info).toMatchObject({ format: 'keras-json', hasWeights: true });
    withWeights.model.dispose();
  });

  it('refuses missing files and files over their limits', async () => {
    problem(await refusal(() => loadModelFile(path.join(root, 'nope.json'), limits)), 'model', /nope\.json does not exist/);
    problem(await refusal(() => loadModelFile(fixture('keras3-residual.json'), { ...limits, maxJsonBytes: 100 })), 'model', /keras3-residual\.json is \d+ bytes, over the limit of 100 bytes/);
    const dir = irisFolder('big');
    problem(await refusal(() => loadModelFile(path.join(dir, 'model.json'), { ...limits, maxWeightBytes: 100 })), 'weights', /the weight files take 524 bytes, over the limit of 100 bytes/);
    rmSync(path.join(dir, 'group1-shard1of1.bin'));
    problem(await refusal(() => loadModelFile(path.join(dir, 'model.json'), limits)), 'weights', /weight file 'group1-shard1of1\.bin' listed in the manifest was not provided/);
  });

  it('never reads a weight file outside the model folder, by path or through a symbolic link', async () => {
    writeFileSync(path.join(root, 'secret.bin'), new Uint8Array(524));
    const escaping = irisFolder('escaping');
    const doc = fixtureJson<Obj>('iris-keras2/model.json');
    doc.weightsManifest[0].paths = ['../secret.bin'];
    writeFileSync(path.join(escaping, 'model.json'), JSON.stringify(doc));
    problem(await refusal(() => loadModelFile(path.join(escaping, 'model.json'), limits)), 'weights', /weight file path "\.\.\/secret\.bin" must be relative and stay inside the model's folder/);

    const linked = irisFolder('linked');
    rmSync(path.join(linked, 'group1-shard1of1.bin'));
    symlinkSync(path.join(root, 'secret.bin'), path.join(linked, 'group1-shard1of1.bin'));
    problem(await refusal(() => loadModelFile(path.join(linked, 'model.json'), limits)), 'weights', /weight file 'group1-shard1of1\.bin' resolves to .*secret\.bin, outside the model's folder/);
  });
});
