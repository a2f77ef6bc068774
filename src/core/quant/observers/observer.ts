// In-graph range observers for QAT (DESIGN.md §3): the range a fake-quant uses, kept in tf.Variables so
// that a layer can own them as non-trainable weights, the training state can save and restore them,
// and a data-parallel parent can merge shards (DESIGN.md §5: min of mins, max of maxes).
//   'minmax': the last batch's min/max (DESIGN's default for weights)
//   'ema':    moving average of batch min/max, decay 0.999 as TFMOT (DESIGN's default for activations);
//             the first observed batch sets the state, tracked by the `initialized` variable (not a JS
//             field) so that it survives save/load and merging.
// Updates run in tf.tidy and only assign: no tensor survives them and no gradient reaches the state.
import * as tf from '../../tf.js';
import { hasObserveKernel, OBSERVE, type ObserveKernelAttrs, registerObserverKernels } from '../observerKernels.js';

registerObserverKernels();

export type ObserverKind = 'minmax' | 'ema';

/** How a data-parallel parent merges each variable across shards (see observerVariableSpecs). */
export type ObserverReduction = 'min' | 'max';

export interface ObserverOptions {
  /** Names errors and the variables' stable names (`${name}/min`, `${name}/max`, `${name}/initialized`). */
  name: string;
  /** Per-channel: one range per index of `axis` (this many). Per-tensor when omitted. */
  channels?: number;
  /** Channel axis of the observed tensors (default: last); per-channel only. */
  axis?: number;
  /** 'ema' only: weight of the old state, in [0, 1). Default 0.999 (TFMOT). */
  decay?: number;
  /** Range [-max|x|, max|x|] (weights on a symmetric grid) instead of [min x, max x]. */
  symmetric?: boolean;
  /** Widen range() to contain 0, as activation ranges must (DESIGN.md §3). The state keeps the raw values. */
  includeZero?: boolean;
  /**
   * Adopt variables created elsewhere (e.g. a layer's non-trainable weights, `layerVariable.read()`),
   * shaped as observerVariableSpecs says and holding zeros before the first update. Created here when
   * omitted.
   */
  variables?: ObserverVariables;
}

export interface ObserverVariables {
  min: tf.Variable;
  max: tf.Variable;
  /** 1 once a batch was observed, else 0 (scalar float32). */
  initialized: tf.Variable;
}

export interface ObserverVariableSpec {
  /** Stable name for saving and merging, e.g. `conv1/act/min`. */
  name: string;
  /** Which of ObserverVariables it is. */
  key: keyof ObserverVariables;
  shape: number[];
  /** Initial value of every element. */
  init: 0;
  /** Merging shards: min of mins, max of maxes, max of the flags (any shard initialised). */
  reduction: ObserverReduction;
}

export interface Observer {
  readonly name: string;
  readonly kind: ObserverKind;
  readonly state: ObserverVariables;
  /** [min, max, initialized], non-trainable; in the order of observerVariableSpecs. */
  readonly variables: tf.Variable[];
  /** While true, update() does nothing (the training schedule freezes observers after an epoch). */
  frozen: boolean;
  /**
   * Folds a batch into the state: one or two reductions and an assign, no data read back (so no
   * sync). An empty batch is ignored. NaN in x reaches the state unchecked; the fake-quant that uses
   * the range then refuses it with an error naming its tensor.
   */
  update(x: tf.Tensor): void;
  /**
   * The current range as new tensors owned by the caller (scalars, or [channels]), ready for
   * fakeQuant(x, min, max, { axis }). Before the first update the state is [0, 0], which fake-quant
   * treats as a degenerate range (everything maps to 0): update before use in training.
   */
  range(): { min: tf.Tensor; max: tf.Tensor };
  /** Disposes the variables this observer created (not adopted ones). */
  dispose(): void;
}

/** Names, shapes and merge rules of an observer's variables, for a layer that owns them. */
export function observerVariableSpecs(opts: Pick<ObserverOptions, 'name' | 'channels'>): ObserverVariableSpec[] {
  const shape = opts.channels === undefined ? [] : [opts.channels];
  return [
    { name: `${opts.name}/min`, key: 'min', shape, init: 0, reduction: 'min' },
    { name: `${opts.name}/max`, key: 'max', shape: shape.slice(), init: 0, reduction: 'max' },
    { name: `${opts.name}/initialized`, key: 'initialized', shape: [], init: 0, reduction: 'max' },
  ];
}

export function createObserver(kind: ObserverKind, opts: ObserverOptions): Observer {
  const { name } = opts;
  if (kind !== 'minmax' && kind !== 'ema') throw new RangeError(`${name}: unknown observer kind '${String(kind)}'`);
  if (opts.channels !== undefined && !(Number.isInteger(opts.channels) && opts.channels >= 1)) {
    throw new RangeError(`${name}: channels must be a positive integer, got ${opts.channels}`);
  }
  const decay = opts.decay ?? 0.999;
  if (kind === 'ema' && !(decay >= 0 && decay < 1)) throw new RangeError(`${name}: decay must be in [0, 1), got ${decay}`);
  if (kind === 'minmax' && opts.decay !== undefined) throw new RangeError(`${name}: decay applies to 'ema' observers only`);
  const specs = observerVariableSpecs(opts);
  const owned = opts.variables === undefined;
  // Auto-named: TF.js variable names are global, and two models (or shards) may share layer names.
  // The tidy frees the zeros the variables were made from (variables themselves outlive any tidy).
  const state: ObserverVariables = opts.variables ?? tf.tidy(() => ({
    min: tf.variable(tf.zeros(specs[0]!.shape), false),
    max: tf.variable(tf.zeros(specs[1]!.shape), false),
    initialized: tf.variable(tf.scalar(0), false),
  }));
  for (const spec of specs) {
    const v = state[spec.key];
    if (v.dtype !== 'float32' || !tf.util.arraysEqual(v.shape, spec.shape)) {
      throw new RangeError(`${spec.name}: expected a float32 variable of shape [${spec.shape}], got ${v.dtype} [${v.shape}]`);
    }
  }
  const perChannel = opts.channels !== undefined;
  /** The channel axis of x (normalised and checked), or -1 per tensor. */
  const channelAxis = (x: tf.Tensor): number => {
    if (!perChannel) return -1;
    const rank = x.rank;
    const axis = (opts.axis ?? -1) < 0 ? rank + (opts.axis ?? -1) : opts.axis!;
    if (axis < 0 || axis >= rank) throw new RangeError(`${name}: axis ${opts.axis ?? -1} is out of range for a rank-${rank} tensor`);
    if (x.shape[axis] !== opts.channels) {
      throw new RangeError(`${name}: observes ${opts.channels} channels but axis ${axis} of shape [${x.shape}] has ${x.shape[axis]}`);
    }
    return axis;
  };
  const symmetric = opts.symmetric ?? false;

  const observer: Observer = {
    name,
    kind,
    state,
    variables: [state.min, state.max, state.initialized],
    frozen: false,
    update(x) {
      if (observer.frozen) return;
      if (x.dtype !== 'float32') throw new TypeError(`${name}: observers need float32 input, got ${x.dtype}`);
      if (x.size === 0) return; // nothing observed: an empty batch must not reset the range to [+inf, -inf]
      const axis = channelAxis(x);
      tf.tidy(() => {
        if (hasObserveKernel()) {
          // One pass (observerKernels.ts), the same float32 bits as the op chain below.
          const attrs: ObserveKernelAttrs = { kind, decay, symmetric, axis };
          const [lo, hi, init] = tf.engine().runKernel(OBSERVE, { x, min: state.min, max: state.max, initialized: state.initialized }, attrs as never) as tf.Tensor[];
          state.min.assign(lo!);
          state.max.assign(hi!);
          state.initialized.assign(init!);
          return;
        }
        const axes = axis < 0 ? undefined : x.shape.map((_, i) => i).filter((i) => i !== axis);
        let lo: tf.Tensor;
        let hi: tf.Tensor;
        if (symmetric) {
          hi = tf.max(tf.abs(x), axes);
          lo = tf.neg(hi);
        } else {
          lo = tf.min(x, axes);
          hi = tf.max(x, axes);
        }
        if (kind === 'ema') {
          // TF's assign_moving_average: s - (s - batch) * (1 - decay); the first batch is taken as is.
          const first = tf.equal(state.initialized, 0);
          const ema = (s: tf.Variable, b: tf.Tensor) => tf.where(first, b, tf.sub(s, tf.mul(tf.sub(s, b), 1 - decay)));
          lo = ema(state.min, lo);
          hi = ema(state.max, hi);
        }
        state.min.assign(lo);
        state.max.assign(hi);
        state.initialized.assign(tf.onesLike(state.initialized));
      });
    },
    range() {
      return tf.tidy(() => {
        if (!opts.includeZero) return { min: tf.clone(state.min), max: tf.clone(state.max) };
        return { min: tf.minimum(state.min, 0), max: tf.maximum(state.max, 0) };
      });
    },
    dispose() {
      if (owned) tf.dispose(observer.variables);
    },
  };
  return observer;
}
