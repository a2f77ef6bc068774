// The submit-time check (src/services/jobCompatibility.ts) predicts from table rows what the worker finds
// by building the model: these tests keep its zoo geometry equal to src/core/zoo's real layers.
import { describe, expect, it } from 'vitest';
import { buildModel, ZooShapeError } from '../../src/core/zoo/index.js';
import { cnnEmptyLayer, submitCompatibilityProblems } from '../../src/services/jobCompatibility.js';
import { useBackend } from '../support/backends.js';

describe('zoo geometry of the submit-time check', () => {
  it('cnn: refuses exactly the image sizes the real model cannot take, naming the same layer', async () => {
    await useBackend('cpu');
    for (const [h, w] of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16].flatMap((h) => [[h, h], [h, 12], [12, h]] as [number, number][])) {
      // The first layer of the real model without outputs: buildModel refuses a 0-sized one; TF.js lets a
      // 'valid' conv go negative instead, and then fails on some later layer's weights (a plain Error that
      // the worker would report as an internal failure, not MODEL_INCOMPATIBLE): refused either way.
      let refused = false;
      let layer: string | undefined;
      try {
        const model = buildModel('cnn', { inputShape: [h, w, 1], classes: 3 });
        layer = model.layers.find((l) => (l.outputShape as (number | null)[]).some((d) => d !== null && d <= 0))?.name;
        refused = layer !== undefined;
        model.dispose();
      } catch (err) {
        refused = true;
        if (err instanceof ZooShapeError) layer = /its layer '([^']+)'/.exec(err.message)![1]!;
      }
      const predicted = cnnEmptyLayer(h, w);
      expect(predicted !== null, `${h}x${w}`).toBe(refused);
      if (layer) expect(predicted, `${h}x${w}`).toBe(layer);
    }
  });

  it('ds-cnn and mlp take any image the check lets through', async () => {
    await useBackend('cpu');
    for (const s of [1, 2, 3, 5]) {
      buildModel('ds-cnn', { inputShape: [s, s, 3], classes: 2 }).dispose();
      buildModel('mlp', { inputShape: [s, s, 1], classes: 2 }).dispose();
      for (const zoo of ['ds-cnn', 'mlp']) {
        const problems = submitCompatibilityProblems(
          { name: `zoo:${zoo}`, format: 'zoo', inputShape: null, outputShape: null, outputActivation: 'linear', unsupportedLayers: [], zoo: { name: zoo, width: 1 } },
          { task: 'classification', features: s * s, classes: 2, sampleShape: [s, s, 3] },
          {},
        );
        expect(problems).toEqual([]);
      }
    }
  });
});
