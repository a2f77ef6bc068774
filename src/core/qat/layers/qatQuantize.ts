// A standalone activation quantizer: the model input, the outputs of ops that compute new values
// without weights (Add, Concatenate, average pools, a lone activation, softmax), and re-entry from a
// layer kept in float. Identity in shape; fake-quantizes on its observed (or fixed) range, or on a
// learned LSQ step (lsqActivation.ts).
import { initializers, layers, type Shape } from '@tensorflow/tfjs-layers';
import * as tf from '../../tf.js';
import { type ActivationQuantSpec, DEFAULT_MODE, isLsq, observeAndQuantize, type QatModeFlags, type RangeVars } from './ranges.js';

export interface QatQuantizeArgs {
  name: string;
  output: ActivationQuantSpec;
}

export class QatQuantize extends layers.Layer {
  static className = 'QatQuantize';
  readonly args: QatQuantizeArgs;
  mode: QatModeFlags = { ...DEFAULT_MODE };
  private range!: RangeVars;

  constructor(args: QatQuantizeArgs) {
    super({ name: args.name });
    this.args = args;
  }

  override build(): void {
    const add = (n: string) => this.addWeight(n, [], 'float32', initializers.zeros(), undefined, false);
    this.range = { min: add('act_min'), max: add('act_max'), seen: add('act_seen') };
    if (isLsq(this.args.output)) this.range.step = this.addWeight('act_step', [], 'float32', initializers.zeros(), undefined, true);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.tidy(() => {
      const y = observeAndQuantize(this.mode, this.range, x, this.args.output, kwargs.training === true, this.name);
      // Left in float (calibrating, weights-only, not yet observed): hand back a new tensor, because
      // tfjs-layers' executor leaks a layer output that is the very tensor it was given.
      return y === x ? tf.clone(x) : y;
    });
  }

  rangeVars(): Readonly<RangeVars> {
    return this.range;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...(this.args as unknown as tf.serialization.ConfigDict) };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config as never);
  }
}

tf.serialization.registerClass(QatQuantize);
