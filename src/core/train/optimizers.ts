// Adam and SGD(momentum) written on plain TF.js ops, with their slots keyed by the model's stable
// weight names so the state can be exported, averaged across shards and imported bit-exactly.
// tf.train's optimizers key slots by the engine's uniquified variable names (fc1/kernel_3 …), which
// change whenever a second copy of a model is built, and cannot take a per-step learning rate.
import * as tf from '../tf.js';
import { ADAM_UPDATE, adamUpdate, hasUpdateKernel, SGD_UPDATE, sgdUpdate } from './fusedUpdates.js';
import { assertRecordFits, fromRecord, type TensorRecord, toRecord } from './tensorRecord.js';

export type OptimizerConfig =
  /** PyTorch's Adam (epsilon added to the bias-corrected sqrt(v)). */
  | { kind: 'adam'; beta1?: number; beta2?: number; epsilon?: number }
  /** PyTorch's SGD: buf = momentum·buf + g; w -= lr·buf (or lr·(g + momentum·buf) if nesterov). */
  | { kind: 'sgd'; momentum?: number; nesterov?: boolean };

/** A trainable weight and the stable name its state is stored under. */
export interface ParamRef {
  key: string;
  variable: tf.Variable;
}

export interface Optimizer {
  readonly kind: OptimizerConfig['kind'];
  /**
   * Apply one update to every param with a gradient (call inside a tidy). `t` is the 1-based count of
   * updates including this one (Adam's bias correction).
   */
  update(params: readonly ParamRef[], grads: ReadonlyArray<tf.Tensor | undefined>, lr: number, t: number): void;
  /** Slots by `${key}/${slotName}` (m, v for Adam; momentum for SGD). */
  exportSlots(): Record<string, TensorRecord>;
  /** Replace every slot with the given ones (missing slots start at zero, as fresh ones do). */
  importSlots(slots: Record<string, TensorRecord>): void;
  dispose(): void;
}

/** Slot variables created on first use, zero-initialised like the weight they shadow. */
class Slots {
  private readonly vars = new Map<string, tf.Variable>();

  get(key: string, like: tf.Variable): tf.Variable {
    let v = this.vars.get(key);
    if (v == null) {
      v = tf.variable(tf.zerosLike(like), false);
      this.vars.set(key, v);
    }
    return v;
  }

  export(): Record<string, TensorRecord> {
    const out: Record<string, TensorRecord> = {};
    for (const [k, v] of [...this.vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = toRecord(v);
    return out;
  }

  import(slots: Record<string, TensorRecord>, allowed: (key: string) => boolean): void {
    this.dispose();
    for (const [k, r] of Object.entries(slots)) {
      if (!allowed(k)) throw new Error(`optimizer state has an unknown slot '${k}'`);
      assertRecordFits(k, r, r.shape);
      const t = fromRecord(r);
      this.vars.set(k, tf.variable(t, false));
      t.dispose();
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

class Adam implements Optimizer {
  readonly kind = 'adam';
  private readonly slots = new Slots();
  constructor(
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly eps: number,
  ) {}

  update(params: readonly ParamRef[], grads: ReadonlyArray<tf.Tensor | undefined>, lr: number, t: number): void {
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = Math.sqrt(1 - Math.pow(this.beta2, t));
    // w -= lr/bc1 · m / (sqrt(v)/bc2 + eps)  ==  w -= (lr·bc2/bc1) · m / (sqrt(v) + eps·bc2): one scalar each.
    if (hasUpdateKernel(ADAM_UPDATE)) {
      // One pass per weight (src/engine's kernel), rounding as the ops below do.
      const attrs = {
        beta1: this.beta1,
        beta2: this.beta2,
        oneMinusBeta1: 1 - this.beta1,
        oneMinusBeta2: 1 - this.beta2,
        stepSize: (lr * bc2) / bc1,
        epsilon: this.eps * bc2,
      };
      params.forEach((p, i) => {
        const g = grads[i];
        if (g == null) return;
        const m = this.slots.get(`${p.key}/m`, p.variable);
        const v = this.slots.get(`${p.key}/v`, p.variable);
        const [w1, m1, v1] = adamUpdate(p.variable, m, v, g, attrs);
        m.assign(m1);
        v.assign(v1);
        p.variable.assign(w1);
      });
      return;
    }
    const stepSize = tf.scalar((lr * bc2) / bc1);
    const eps = tf.scalar(this.eps * bc2);
    const b1 = tf.scalar(this.beta1);
    const b2 = tf.scalar(this.beta2);
    const c1 = tf.scalar(1 - this.beta1);
    const c2 = tf.scalar(1 - this.beta2);
    params.forEach((p, i) => {
      const g = grads[i];
      if (g == null) return;
      const m = this.slots.get(`${p.key}/m`, p.variable);
      const v = this.slots.get(`${p.key}/v`, p.variable);
      const m1 = tf.add(tf.mul(m, b1), tf.mul(g, c1));
      const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), c2));
      m.assign(m1);
      v.assign(v1);
      p.variable.assign(tf.sub(p.variable, tf.mul(stepSize, tf.div(m1, tf.add(tf.sqrt(v1), eps)))));
    });
  }

  exportSlots(): Record<string, TensorRecord> {
    return this.slots.export();
  }
  importSlots(slots: Record<string, TensorRecord>): void {
    this.slots.import(slots, (k) => k.endsWith('/m') || k.endsWith('/v'));
  }
  dispose(): void {
    this.slots.dispose();
  }
}

class Sgd implements Optimizer {
  readonly kind = 'sgd';
  private readonly slots = new Slots();
  constructor(
    private readonly momentum: number,
    private readonly nesterov: boolean,
  ) {}

  update(params: readonly ParamRef[], grads: ReadonlyArray<tf.Tensor | undefined>, lr: number): void {
    if (hasUpdateKernel(SGD_UPDATE)) {
      const attrs = { lr, momentum: this.momentum, nesterov: this.nesterov };
      params.forEach((p, i) => {
        const g = grads[i];
        if (g == null) return;
        const buf = this.momentum !== 0 ? this.slots.get(`${p.key}/momentum`, p.variable) : null;
        const [w1, b1] = sgdUpdate(p.variable, g, buf, attrs);
        if (buf) buf.assign(b1!);
        p.variable.assign(w1!);
      });
      return;
    }
    const rate = tf.scalar(lr);
    const mu = tf.scalar(this.momentum);
    params.forEach((p, i) => {
      const g = grads[i];
      if (g == null) return;
      let dir = g;
      if (this.momentum !== 0) {
        const buf = this.slots.get(`${p.key}/momentum`, p.variable);
        const b1 = tf.add(tf.mul(buf, mu), g);
        buf.assign(b1);
        dir = this.nesterov ? tf.add(g, tf.mul(b1, mu)) : b1;
      }
      p.variable.assign(tf.sub(p.variable, tf.mul(dir, rate)));
    });
  }

  exportSlots(): Record<string, TensorRecord> {
    return this.slots.export();
  }
  importSlots(slots: Record<string, TensorRecord>): void {
    this.slots.import(slots, (k) => this.momentum !== 0 && k.endsWith('/momentum'));
  }
  dispose(): void {
    this.slots.dispose();
  }
}

export function createOptimizer(c: OptimizerConfig): Optimizer {
  if (c.kind === 'adam') {
    const beta1 = c.beta1 ?? 0.9;
    const beta2 = c.beta2 ?? 0.999;
    const eps = c.epsilon ?? 1e-8;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0)) throw new Error('adam needs 0 <= beta1, beta2 < 1 and epsilon > 0');
    return new Adam(beta1, beta2, eps);
  }
  if (c.kind === 'sgd') {
    const momentum = c.momentum ?? 0;
    if (!(momentum >= 0 && momentum < 1)) throw new Error('sgd momentum must be in [0, 1)');
    if (c.nesterov && momentum === 0) throw new Error('nesterov momentum needs momentum > 0');
    return new Sgd(momentum, c.nesterov ?? false);
  }
  throw new Error(`unknown optimizer '${(c as { kind: string }).kind}'`);
}
