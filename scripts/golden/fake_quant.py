#!/usr/bin/env python3
"""Golden values for the fake-quant op, from an implementation independent of the TypeScript one:
NumPy, written straight from DESIGN.md section 3: float32 operands and results, each expression
evaluated in float64 and rounded to float32 once. Regenerate with
    python3 scripts/golden/fake_quant.py > tests/fixtures/golden/fake_quant.json
"""
import json
import numpy as np

f32 = np.float32


f64 = np.float64


def nudge(mn, mx, bits, narrow):
    qmin, qmax = (1 if narrow else 0), 2 ** bits - 1
    lo = f64(f32(mn))
    scale = f32((f64(f32(mx)) - lo) / (qmax - qmin))
    if scale == 0:
        return f32(0), f32(0), f32(0), 0
    zpf = qmin - lo / f64(scale)
    zp = qmin if zpf <= qmin else qmax if zpf >= qmax else np.floor(zpf + 0.5)
    return scale, f32((qmin - zp) * f64(scale)), f32((qmax - zp) * f64(scale)), qmin - zp


def forward(x, mn, mx, bits, narrow):
    """floor((clamp(x) - nudged_min) / scale + 0.5) * scale + nudged_min, written as the equal
    (q + qmin - zero_point) * scale so that 0.0 stays exactly 0.0 after float32 rounding."""
    s, lo, hi, offset = nudge(mn, mx, bits, narrow)
    if s == 0:
        return np.zeros_like(x)
    c = np.clip(x, lo, hi).astype(f64)
    s, lo = f64(s), f64(lo)
    return ((np.floor((c - lo) / s + 0.5) + offset) * s).astype(f32)


def backward(dy, x, mn, mx, bits, narrow):
    _, lo, hi, _ = nudge(mn, mx, bits, narrow)
    below, above = x < lo, x > hi
    dx = np.where(below | above, f32(0), dy).astype(f32)
    return dx, float(dy[below].astype(np.float64).sum()), float(dy[above].astype(np.float64).sum())


def case(name, x, mn, mx, bits, narrow=False, dy=None):
    x = np.asarray(x, dtype=f32)
    dy = np.linspace(-1, 1, x.size, dtype=f32) if dy is None else np.asarray(dy, dtype=f32)
    dx, dmin, dmax = backward(dy, x, mn, mx, bits, narrow)
    s, lo, hi, _ = nudge(mn, mx, bits, narrow)
    return {'name': name, 'bits': bits, 'narrow_range': narrow, 'min': mn, 'max': mx,
            'nudged': [float(lo), float(hi), float(s)],
            'x': x.tolist(), 'y': forward(x, mn, mx, bits, narrow).tolist(),
            'dy': dy.tolist(), 'dx': dx.tolist(), 'dmin': dmin, 'dmax': dmax}


rng = np.random.default_rng(20261126)
cases = [
    case('ties round half up (scale 0.25, zero point 0)', [0.125, 0.375, 0.625, -0.125, 63.875, 63.625, 0.0, 1.0], 0.0, 63.75, 8),
    case('negative ties round toward +inf (zero point 128)', [-0.125, -0.375, -0.625, 0.125, -32.0, -32.125, 31.75, 31.8], -32.0, 31.75, 8),
    case('symmetric [-1, 1] nudged to zero point 128', [-1.1, -1.0, -0.5, 0.0, 0.3, 0.996, 1.0, 1.2], -1.0, 1.0, 8),
    case('narrow range [-1, 1] is exactly symmetric', [-1.1, -1.0, -0.5, 0.0, 0.5, 1.0, 1.2], -1.0, 1.0, 8, True),
    case('range above zero is nudged to [0, x]', [0.5, 1.0, 1.5, 2.0, 2.5, -0.1], 1.0, 2.0, 8),
    case('range below zero is nudged to [x, 0]', [-2.5, -1.5, -1.0, -0.5, 0.0, 0.25], -2.0, -1.0, 8),
    case('degenerate range at zero', [-1.0, 0.0, 2.0], 0.0, 0.0, 8),
    case('degenerate range away from zero', [-1.0, 0.0, 3.0, 4.0], 3.0, 3.0, 8),
    case('4-bit', list(np.linspace(-1.2, 1.3, 11)), -1.0, 1.25, 4),
    case('2-bit narrow', list(np.linspace(-1.5, 1.5, 13)), -1.0, 1.0, 2, True),
    case('16-bit', [-3.0, -1e-4, 0.0, 1e-4, 1.23456, 2.99], -3.0, 3.0, 16),
    case('extreme range', [-3e38, -1e30, 0.0, 1e-30, 2e38, 3.4e38], -3e38, 3e38, 8),
    case('tiny range', [-1e-30, 0.0, 3e-31, 7e-31, 1e-29], -1e-30, 1e-30, 8),
    case('random 8-bit', (rng.standard_normal(64) * 3).tolist(), -2.5, 4.0, 8),
]

# Per-channel along the last axis of a [4, 3] tensor: one range per column.
pc_x = (rng.standard_normal((4, 3)) * 2).astype(f32)
pc_ranges = [(-1.0, 1.0), (0.0, 63.75), (-3.0, 0.5)]
pc_dy = np.linspace(-1, 1, pc_x.size, dtype=f32).reshape(pc_x.shape)
pc = {'name': 'per-channel, last axis', 'bits': 8, 'narrow_range': False, 'axis': -1, 'shape': [4, 3],
      'min': [r[0] for r in pc_ranges], 'max': [r[1] for r in pc_ranges], 'x': pc_x.ravel().tolist(), 'dy': pc_dy.ravel().tolist()}
y = np.empty_like(pc_x); dx = np.empty_like(pc_x); dmin = []; dmax = []
for c, (mn, mx) in enumerate(pc_ranges):
    y[:, c] = forward(pc_x[:, c], mn, mx, 8, False)
    d, a, b = backward(pc_dy[:, c], pc_x[:, c], mn, mx, 8, False)
    dx[:, c] = d; dmin.append(a); dmax.append(b)
pc.update(y=y.ravel().tolist(), dx=dx.ravel().tolist(), dmin=dmin, dmax=dmax)

# Per-channel along axis 1 of a [2, 3, 2] tensor (inner dimension 2).
ax_x = (rng.standard_normal((2, 3, 2)) * 2).astype(f32)
ax_ranges = [(-0.5, 0.5), (-4.0, 4.0), (0.0, 1.0)]
ax_dy = np.linspace(-1, 1, ax_x.size, dtype=f32).reshape(ax_x.shape)
ax = {'name': 'per-channel, axis 1', 'bits': 4, 'narrow_range': True, 'axis': 1, 'shape': [2, 3, 2],
      'min': [r[0] for r in ax_ranges], 'max': [r[1] for r in ax_ranges], 'x': ax_x.ravel().tolist(), 'dy': ax_dy.ravel().tolist()}
y = np.empty_like(ax_x); dx = np.empty_like(ax_x); dmin = []; dmax = []
for c, (mn, mx) in enumerate(ax_ranges):
    y[:, c, :] = forward(ax_x[:, c, :], mn, mx, 4, True)
    d, a, b = backward(ax_dy[:, c, :], ax_x[:, c, :], mn, mx, 4, True)
    dx[:, c, :] = d; dmin.append(a); dmax.append(b)
ax.update(y=y.ravel().tolist(), dx=dx.ravel().tolist(), dmin=dmin, dmax=dmax)

print(json.dumps({'generator': 'scripts/golden/fake_quant.py (NumPy %s, float32)' % np.__version__,
                  'per_tensor': cases, 'per_channel': [pc, ax]}, indent=1))
