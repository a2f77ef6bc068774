// In-graph QAT observers: update math, initialisation held in state, freezing, per-channel ranges,
// no gradient through the range, no leaked tensors; on every backend.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../../../src/core/tf.js';
import { fakeQuant } from '../../../src/core/quant/fakeQuant.js';
import { createObserver, observerVariableSpecs } from '../../../src/core/quant/observers/index.js';
import { BACKENDS, useBackend } from '../../support/backends.js';

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const f32 = (v: number[]) => v.map(Math.fround);
function rangeOf(obs: ReturnType<typeof createObserver>) {
  const r = obs.range();
  const out = { min: values(r.min), max: values(r.max) };
  tf.dispose([r.min, r.max]);
  return out;
}

for (const backend of BACKENDS) {
  describe(`observers on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('minmax keeps the last batch min/max and marks itself initialised', () => {
      const obs = createObserver('minmax', { name: 'dense/kernel' });
      expect(values(obs.state.initialized)).toEqual([0]);
      expect(rangeOf(obs)).toEqual({ min: [0], max: [0] });
      obs.update(tf.tensor([0.5, -2, 3]));
      expect(rangeOf(obs)).toEqual({ min: [-2], max: [3] });
      obs.update(tf.tensor([[1, 1.5]]));
      expect(rangeOf(obs)).toEqual({ min: [1], max: [1.5] });
      expect(values(obs.state.initialized)).toEqual([1]);
      obs.dispose();
    });

    it('ema: the first batch initialises, then s <- s - (s - batch)(1 - decay); default decay 0.999', () => {
      const obs = createObserver('ema', { name: 'act' });
      obs.update(tf.tensor([-1, 4]));
      expect(rangeOf(obs)).toEqual({ min: [-1], max: [4] });
      obs.update(tf.tensor([-3, 2]));
      let lo = -1 - (-1 + 3) * 0.001;
      let hi = 4 - (4 - 2) * 0.001;
      let r = rangeOf(obs);
      expect(r.min[0]).toBeCloseTo(lo, 6);
      expect(r.max[0]).toBeCloseTo(hi, 6);
      const fast = createObserver('ema', { name: 'act', decay: 0.5 });
      [[0, 1], [-4, 3], [2, 2]].forEach((b) => fast.update(tf.tensor(b)));
      [lo, hi] = [0, 1];
      for (const [a, b] of [[-4, 3], [2, 2]] as const) [lo, hi] = [lo - (lo - a) * 0.5, hi - (hi - b) * 0.5];
      r = rangeOf(fast);
      expect(r.min).toEqual(f32([lo]));
      expect(r.max).toEqual(f32([hi]));
      tf.dispose([...obs.variables, ...fast.variables]);
    });

    it('initialisation lives in the state: restored variables continue the average, reset ones start over', () => {
      const a = createObserver('ema', { name: 'act', decay: 0.9 });
      a.update(tf.tensor([-1, 1]));
      // "Save" a's state and "load" it into variables a layer owns.
      const adopt = (src: typeof a.state) => ({
        min: tf.variable(tf.clone(src.min), false),
        max: tf.variable(tf.clone(src.max), false),
        initialized: tf.variable(tf.clone(src.initialized), false),
      });
      const b = createObserver('ema', { name: 'act', decay: 0.9, variables: adopt(a.state) });
      b.update(tf.tensor([-11, 11]));
      const r = rangeOf(b);
      expect(r.min[0]).toBeCloseTo(-2, 5);
      expect(r.max[0]).toBeCloseTo(2, 5);
      b.state.initialized.assign(tf.scalar(0));
      b.update(tf.tensor([-5, 7]));
      expect(rangeOf(b)).toEqual({ min: [-5], max: [7] });
      b.dispose(); // adopted: not disposed by the observer
      expect(b.state.min.isDisposed).toBe(false);
      tf.dispose([...a.variables, ...b.variables]);
    });

    it('frozen observers ignore updates until unfrozen', () => {
      const obs = createObserver('ema', { name: 'act', decay: 0.5 });
      obs.update(tf.tensor([-1, 1]));
      obs.frozen = true;
      obs.update(tf.tensor([-100, 100]));
      expect(rangeOf(obs)).toEqual({ min: [-1], max: [1] });
      obs.frozen = false;
      obs.update(tf.tensor([-3, 3]));
      expect(rangeOf(obs)).toEqual({ min: [-2], max: [2] });
      obs.dispose();
    });

    it('per-channel along the last axis and along axis 0; a mismatched channel count is an error naming it', () => {
      const x = tf.tensor([[1, -2, 3], [-4, 5, 0.5]]);
      const last = createObserver('minmax', { name: 'conv/kernel', channels: 3 });
      last.update(x);
      expect(rangeOf(last)).toEqual({ min: [-4, -2, 0.5], max: [1, 5, 3] });
      const first = createObserver('ema', { name: 'conv/kernel', channels: 2, axis: 0, decay: 0.5 });
      first.update(x);
      first.update(tf.tensor([[3, 3, 3], [0, 0, 0]]));
      expect(rangeOf(first)).toEqual({ min: [0.5, -2], max: [3, 2.5] });
      expect(() => last.update(tf.zeros([2, 2]))).toThrow(/conv\/kernel: observes 3 channels but axis 1 of shape \[2,2\] has 2/);
      tf.dispose([...last.variables, ...first.variables]);
    });

    it('symmetric ranges are [-max|x|, max|x|]; includeZero widens only what range() returns', () => {
      const sym = createObserver('minmax', { name: 'w', symmetric: true, channels: 2 });
      sym.update(tf.tensor([[0.5, -3], [-1, 2]]));
      expect(rangeOf(sym)).toEqual({ min: [-1, -3], max: [1, 3] });
      const act = createObserver('ema', { name: 'act', includeZero: true });
      act.update(tf.tensor([2, 5]));
      expect(rangeOf(act)).toEqual({ min: [0], max: [5] });
      expect(values(act.state.min)).toEqual([2]);
      tf.dispose([...sym.variables, ...act.variables]);
    });

    it('merging shards with min of mins / max of maxes (the specs) equals observing the union batch', () => {
      const specs = observerVariableSpecs({ name: 'act', channels: 2 });
      expect(specs.map((s) => [s.name, s.reduction, s.shape])).toEqual([
        ['act/min', 'min', [2]],
        ['act/max', 'max', [2]],
        ['act/initialized', 'max', []],
      ]);
      const make = () => createObserver('ema', { name: 'act', channels: 2, decay: 0.9 });
      const [whole, s1, s2] = [make(), make(), make()];
      const warm = tf.tensor([[0.1, 0.2], [0.3, -0.4]]);
      for (const o of [whole, s1, s2]) o.update(warm);
      const b1 = tf.tensor([[-1.7, 0.9], [0.2, 0.3]]);
      const b2 = tf.tensor([[0.5, 2.1], [-0.3, -0.8]]);
      whole.update(tf.concat([b1, b2]));
      s1.update(b1);
      s2.update(b2);
      const merged = { min: values(tf.minimum(s1.state.min, s2.state.min)), max: values(tf.maximum(s1.state.max, s2.state.max)) };
      expect(merged).toEqual(rangeOf(whole));
      tf.dispose([...whole.variables, ...s1.variables, ...s2.variables]);
    });

    it('no gradient reaches the range: x gets the straight-through gradient only, the state none', () => {
      const obs = createObserver('ema', { name: 'act', decay: 0.9 });
      obs.update(tf.tensor([-1, 1]));
      const x = tf.tensor([-3, -0.5, 0.25, 0.9, 5]);
      const dy = tf.tensor([1, 2, 3, 4, 5]);
      const f = (v: tf.Tensor) => {
        obs.update(v); // state becomes [-1.2, 1.4]: -3 and 5 stay outside
        const r = obs.range();
        return fakeQuant(v, r.min, r.max, { bits: 8 });
      };
      const [dx] = tf.grads(f)([x], dy);
      expect(values(dx!)).toEqual([0, 2, 3, 4, 0]);
      // Control: a range computed from x itself would feed the clipped gradients back into x.
      const leaky = (v: tf.Tensor) => fakeQuant(v, tf.mul(tf.min(v), 0.4), tf.mul(tf.max(v), 0.28), { bits: 8 });
      expect(values(tf.grads(leaky)([x], dy)[0]!)).not.toEqual([0, 2, 3, 4, 0]);
      // The state is not trainable: an optimizer's variableGrads never sees it.
      const w = tf.variable(tf.scalar(2), true);
      const { grads } = tf.variableGrads(() => tf.sum(f(tf.mul(x, w))) as tf.Scalar);
      expect(Object.keys(grads)).toEqual([w.name]);
      expect(obs.variables.every((v) => !v.trainable)).toBe(true);
      tf.dispose([...obs.variables, w, ...Object.values(grads)]);
    });

    it('leaks no tensors: update, range and dispose', () => {
      const x = tf.randomNormal([8, 4, 4, 3], 0, 1, 'float32', 5);
      const before = tf.memory().numTensors;
      for (const kind of ['minmax', 'ema'] as const) {
        for (const opts of [{}, { channels: 3 }, { channels: 3, symmetric: true, includeZero: true }]) {
          const obs = createObserver(kind, { name: 'act', ...opts });
          for (let i = 0; i < 3; i++) obs.update(x);
          tf.tidy(() => {
            fakeQuant(x, obs.range().min, obs.range().max, { bits: 8, axis: -1 });
          });
          obs.dispose();
        }
      }
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });

    it('refuses bad options and adopted variables of the wrong shape', () => {
      expect(() => createObserver('ema', { name: 'a', decay: 1 })).toThrow(/a: decay must be in \[0, 1\)/);
      expect(() => createObserver('minmax', { name: 'a', decay: 0.9 })).toThrow(/decay applies to 'ema' observers only/);
      expect(() => createObserver('minmax', { name: 'a', channels: 0 })).toThrow(/channels must be a positive integer/);
      const bad = { min: tf.variable(tf.zeros([2]), false), max: tf.variable(tf.zeros([3]), false), initialized: tf.variable(tf.scalar(0), false) };
      expect(() => createObserver('minmax', { name: 'a', channels: 2, variables: bad })).toThrow(/a\/max: expected a float32 variable of shape \[2\], got float32 \[3\]/);
      tf.dispose(Object.values(bad));
    });
  });
}
