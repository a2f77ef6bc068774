// Which layers prepareQat would refuse, without keeping a QAT model: the dry run is prepareQat itself
// (so its rules live in one place), in a scratch scope that frees the copy it builds.
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { prepareQat, type UnsupportedLayer, UnsupportedModelError } from './prepare.js';
import { inScratch } from './scratch.js';

/** Every layer that default QAT settings (no float fallback) cannot quantize, with prepareQat's reason. */
export function findUnsupportedLayers(model: LayersModel): UnsupportedLayer[] {
  return inScratch(() => {
    try {
      prepareQat(model, { allowFloatFallback: false });
      return [];
    } catch (e) {
      if (e instanceof UnsupportedModelError) return e.layers;
      // Anything else the transform trips on also stops QAT: report it against the whole model.
      return [{ name: model.name, className: model.getClassName(), reason: e instanceof Error ? e.message : String(e) }];
    }
  });
}
