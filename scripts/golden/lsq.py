#!/usr/bin/env python3
"""Golden values for LSQ (Esser et al. 2019, "Learned Step Size Quantization"), from an implementation
independent of the TypeScript one: NumPy, written from the paper and DESIGN.md section 3.
  v = x / s (float64 of the float32 operands), y = clip(floor(v + 0.5), Qn, Qp) * s rounded to float32
  dx = dy where Qn <= v <= Qp else 0
  ds = g * sum(dy * (round(v) - v) inside, dy * Qn below, dy * Qp above), g = 1 / sqrt(numel * Qp)
The forward uses max(s, 2^-27) (a step pushed to <= 0 must not divide by zero). Regenerate with
    python3 scripts/golden/lsq.py > tests/fixtures/golden/lsq.json
"""
import json
import numpy as np

f32, f64 = np.float32, np.float64
MIN_STEP = 2.0 ** -27  # about 7.45e-9, exact in float32


def levels(bits, signed, narrow):
    if not signed:
        return 0, 2 ** bits - 1
    qp = 2 ** (bits - 1) - 1
    return (-qp if narrow else -qp - 1), qp


def lsq(x, s, dy, bits, signed, narrow):
    """One channel: x, dy float32 arrays, s a float32 step; numel is this channel's element count."""
    qn, qp = levels(bits, signed, narrow)
    s = max(f64(f32(s)), MIN_STEP)
    v = x.astype(f64) / s
    r = np.floor(v + 0.5)
    y = (np.clip(r, qn, qp) * s).astype(f32)
    below, above = v < qn, v > qp
    dx = np.where(below | above, f32(0), dy).astype(f32)
    terms = np.where(below, qn, np.where(above, qp, r - v)) * dy.astype(f64)
    g = 1.0 / np.sqrt(max(x.size, 1) * qp)
    return y, dx, float(terms.sum() * g)


def case(name, x, step, bits, signed, narrow=False, dy=None):
    x = np.asarray(x, dtype=f32)
    dy = np.linspace(-1, 1, x.size, dtype=f32) if dy is None else np.asarray(dy, dtype=f32)
    y, dx, ds = lsq(x, step, dy, bits, signed, narrow)
    return {'name': name, 'bits': bits, 'signed': signed, 'narrow_range': narrow, 'step': float(f32(step)),
            'x': x.tolist(), 'dy': dy.tolist(), 'y': y.tolist(), 'dx': dx.tolist(), 'ds': ds}


def per_channel(name, shape, axis, steps, bits, signed, narrow, rng):
    x = (rng.standard_normal(shape) * 2).astype(f32)
    dy = np.linspace(-1, 1, x.size, dtype=f32).reshape(shape)
    y, dx = np.empty_like(x), np.empty_like(x)
    ds = []
    for c, s in enumerate(steps):
        idx = tuple(c if i == axis else slice(None) for i in range(len(shape)))
        yc, dxc, dsc = lsq(x[idx], s, dy[idx], bits, signed, narrow)
        y[idx], dx[idx] = yc, dxc
        ds.append(dsc)
    return {'name': name, 'bits': bits, 'signed': signed, 'narrow_range': narrow, 'axis': axis, 'shape': list(shape),
            'step': [float(f32(s)) for s in steps], 'x': x.ravel().tolist(), 'dy': dy.ravel().tolist(),
            'y': y.ravel().tolist(), 'dx': dx.ravel().tolist(), 'ds': ds}


rng = np.random.default_rng(20261127)
cases = [
    # s = 0.25: every x below is exactly representable and x/s is exactly k + 0.5 for the ties.
    case('ties round half up', [0.125, 0.375, -0.125, -0.375, -0.625, 1.125, 31.875, -32.125, 0.0], 0.25, 8, True),
    case('boundaries inside, beyond them outside (4-bit signed)', [-4.0, -4.1, -4.25, 3.5, 3.6, 3.75, 3.74, -3.76, 100.0, -100.0], 0.5, 4, True),
    case('unsigned 4-bit clamps negatives to 0', [-1.0, -0.01, 0.0, 0.3, 1.7, 7.4, 7.6, 8.0, 9.0], 0.5, 4, False),
    case('narrow signed 8-bit, random', (rng.standard_normal(64) * 0.7).tolist(), 0.01, 8, True, True),
    case('2-bit signed', list(np.linspace(-3, 3, 13)), 1.0, 2, True),
    case('16-bit signed', [-3.0, -1e-4, 0.0, 1e-4, 1.23456, 2.99, 1e6], 1e-4, 16, True),
    case('extreme values', [-3e38, -1e30, -1e-30, 0.0, 1e-30, 2e38, 3.4e38], 1e30, 8, True),
    case('tiny step is clamped to 2^-27', [-1e-6, -3e-8, 1e-8, 2.5e-8, 1e-6], 1e-12, 8, True),
    case('negative step is clamped to 2^-27', [-1e-6, 0.0, 3e-8, 1e-6], -0.5, 8, False),
    case('random unsigned 8-bit', np.abs(rng.standard_normal(50) * 3).tolist(), 0.02, 8, False),
]
pcs = [
    per_channel('per-channel, last axis', (4, 3), 1, [0.1, 0.5, 0.05], 4, True, False, rng),
    per_channel('per-channel, axis 1, narrow', (2, 3, 2), 1, [0.2, 0.01, 1.0], 8, True, True, rng),
]

print(json.dumps({'generator': 'scripts/golden/lsq.py (NumPy %s, float32 operands, float64 arithmetic)' % np.__version__,
                  'per_tensor': cases, 'per_channel': pcs}, indent=1))
