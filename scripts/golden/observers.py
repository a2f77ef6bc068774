#!/usr/bin/env python3
"""Golden values for the post-training calibrators (src/core/quant/observers/calibrator.ts), from an
implementation independent of the TypeScript one: NumPy.
  - min/max and moving-average ranges, straight from their definitions, in float64;
  - percentiles: np.percentile (linear) of the exact data (the calibrator's histogram estimate is
    within one bin width of it, which the test takes as the tolerance);
  - MSE-optimal ranges: np.histogram of the data, then every candidate of the documented search graded
    by brute force (every bin centre quantized), keeping all candidates within 1e-6 of the best error.
Data come from a tiny shared generator (xorshift32 + arithmetic only), which the test reproduces bit for
bit, so the fixture carries no data. Regenerate with
    python3 scripts/golden/observers.py > tests/fixtures/golden/observers.json
"""
import json
import numpy as np

f32, f64 = np.float32, np.float64
SQRT3 = 1.7320508075688772
MSE_STEPS = 128


def uniforms(seed, n):
    """xorshift32 (13, 17, 5); u = state / 2^32."""
    out = np.empty(n, dtype=f64)
    x = seed & 0xFFFFFFFF
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x / 4294967296.0
    return out


def data(seed, n, kind, mu, sigma):
    """'normal': (u1 + u2 + u3 + u4 - 2) * sqrt(3); 'heavy': (u1 - 0.5) / (u2 + 0.02); then mu + sigma * z, float32."""
    if kind == 'normal':
        u = uniforms(seed, 4 * n).reshape(n, 4)
        z = (((u[:, 0] + u[:, 1]) + u[:, 2]) + u[:, 3] - 2.0) * SQRT3
    else:
        u = uniforms(seed, 2 * n).reshape(n, 2)
        z = (u[:, 0] - 0.5) / (u[:, 1] + 0.02)
    return (mu + sigma * z).astype(f32)


def spec(seed, n, kind, mu, sigma):
    return {'seed': seed, 'n': n, 'kind': kind, 'mu': mu, 'sigma': sigma}


def gen(s):
    return data(s['seed'], s['n'], s['kind'], s['mu'], s['sigma'])


def checksum(x):
    return {'sum': float(x.astype(f64).sum()), 'first': x[:3].astype(f64).tolist()}


# ---- min/max and moving average ------------------------------------------------------------------
def running(batches, kind, symmetric, decay):
    lo = hi = None
    for b in batches:
        b = b.astype(f64)
        bl, bh = (-np.abs(b).max(0), np.abs(b).max(0)) if symmetric else (b.min(0), b.max(0))
        if lo is None:
            lo, hi = bl, bh
        elif kind == 'minmax':
            lo, hi = np.minimum(lo, bl), np.maximum(hi, bh)
        else:
            lo, hi = lo - (lo - bl) * (1 - decay), hi - (hi - bh) * (1 - decay)
    return lo.tolist(), hi.tolist()


# per-channel along the last axis of [n, 3] batches; decay None is the calibrator's default (0.99)
mm_batches = [spec(11, 300, 'normal', 0.0, 1.0), spec(12, 300, 'heavy', 0.5, 0.2), spec(13, 300, 'normal', -1.0, 2.0)]
mm_data = [gen(s).reshape(100, 3) for s in mm_batches]
running_cases = []
for kind, symmetric, decay in [('minmax', False, None), ('ema', False, None), ('ema', False, 0.5), ('minmax', True, None), ('ema', True, 0.9)]:
    lo, hi = running(mm_data, kind, symmetric, decay if decay is not None else 0.99)
    running_cases.append({'kind': kind, 'symmetric': symmetric, 'decay': decay, 'min': lo, 'max': hi})


# ---- percentiles ---------------------------------------------------------------------------------
pt_batches = [spec(21, 40000, 'normal', 0.0, 1.0), spec(22, 40000, 'normal', 0.5, 3.0), spec(23, 40000, 'heavy', 0.0, 0.5),
              spec(24, 40000, 'normal', -2.0, 0.5)]
pt_all = np.concatenate([gen(s) for s in pt_batches]).astype(f64)
percentile_cases = []
for p in [99.99, 99.9, 99.0]:
    percentile_cases.append({'percentile': p, 'symmetric': False,
                             'min': [float(np.percentile(pt_all, 100 - p))], 'max': [float(np.percentile(pt_all, p))]})
    a = float(np.percentile(np.abs(pt_all), p))
    percentile_cases.append({'percentile': p, 'symmetric': True, 'min': [-a], 'max': [a]})

# per-channel [n, 3]: channel scales 0.1, 1, 10; the second batch widens every channel
pc_batches = [spec(31, 30000, 'normal', 0.0, 1.0), spec(32, 30000, 'heavy', 0.0, 1.0)]
pc_scale = np.array([0.1, 1.0, 10.0], dtype=f32)
pc_all = np.concatenate([gen(s).reshape(-1, 3) * pc_scale for s in pc_batches]).astype(f64)
pc_cases = []
for p in [99.99, 99.9]:
    pc_cases.append({'percentile': p, 'symmetric': False,
                     'min': [float(np.percentile(pc_all[:, c], 100 - p)) for c in range(3)],
                     'max': [float(np.percentile(pc_all[:, c], p)) for c in range(3)]})


# ---- MSE search ----------------------------------------------------------------------------------
def nudge(mn, mx, bits, narrow):
    """TF fake-quant nudging in float32 (as scripts/golden/fake_quant.py)."""
    qmin, qmax = (1 if narrow else 0), 2 ** bits - 1
    lo = f64(f32(mn))
    scale = f64(f32((f64(f32(mx)) - lo) / (qmax - qmin)))
    if scale == 0:
        return 0.0, 0.0, qmax - qmin + 1
    zpf = qmin - lo / scale
    zp = qmin if zpf <= qmin else qmax if zpf >= qmax else np.floor(zpf + 0.5)
    return float(f32((qmin - zp) * scale)), float(scale), qmax - qmin + 1


def grid_error(counts, g0, step, levels):
    """Brute force: every bin centre (bin units) quantized to g0 + q * step, q = clip(floor(.+0.5))."""
    x = np.arange(counts.size) + 0.5
    q = np.clip(np.floor((x - g0) / step + 0.5), 0, levels - 1)
    return float((counts * (x - g0 - q * step) ** 2).sum())


def near_best(cands):
    best = min(e for e, _ in cands)
    return [r for e, r in cands if e <= best * (1 + 1e-6)], best


def mse_symmetric(x, bits, bins):
    a = np.abs(x.astype(f64))
    amax = a.max()
    counts, _ = np.histogram(a, bins=bins, range=(0.0, amax))
    bw = amax / bins
    qp = 2 ** (bits - 1) - 1
    last = min(bins, max(1, int(np.ceil(amax / bw))))
    cands = []
    for k in range(1, last + 1):
        t = min(k * bw, amax)
        cands.append((grid_error(counts, 0.0, t / qp / bw, qp + 1), [-t, t]))
    return counts, near_best(cands)


def mse_asymmetric(x, bits, bins, include_zero, narrow):
    x = x.astype(f64)
    mn, mx = x.min(), x.max()
    counts, _ = np.histogram(x, bins=bins, range=(mn, mx))
    bw = (mx - mn) / bins
    nz = np.nonzero(counts)[0]
    b0, b1 = int(nz[0]), int(nz[-1]) + 1
    span = b1 - b0
    cands = []
    for i in range(MSE_STEPS):
        lo = max(mn + (b0 + (i * span) // MSE_STEPS) * bw, mn)
        for j in range(MSE_STEPS):
            hi = min(mn + (b1 - (j * span) // MSE_STEPS) * bw, mx)
            if not hi > lo:
                break
            glo, ghi = (min(lo, 0.0), max(hi, 0.0)) if include_zero else (lo, hi)
            nmin, scale, levels = nudge(glo, ghi, bits, narrow)
            if scale == 0:
                continue
            cands.append((grid_error(counts, (nmin - mn) / bw, scale / bw, levels), [lo, hi]))
    return counts, near_best(cands)


def sparse(counts):
    nz = np.nonzero(counts)[0]
    return {'index': nz.tolist(), 'count': counts[nz].astype(int).tolist()}


mse_cases = []
# Symmetric per-channel weights [4096, 4], channel scales 0.05, 0.2, 1, 3 (channel 3 heavy-tailed).
w_norm = gen(spec(41, 4096 * 4, 'normal', 0.0, 1.0)).reshape(4096, 4)
w_heavy = gen(spec(42, 4096, 'heavy', 0.0, 1.0))
w = (w_norm * np.array([0.05, 0.2, 1.0, 3.0], dtype=f32)).astype(f32)
w[:, 3] = (w_heavy * f32(3.0)).astype(f32)
for bits in [8, 4]:
    chans, counts0 = [], None
    for c in range(4):
        counts, (ranges, best) = mse_symmetric(w[:, c], bits, 2048)
        counts0 = counts if counts0 is None else counts0
        chans.append({'candidates': ranges, 'best_error': best})
    mse_cases.append({'name': f'symmetric per-channel weights, {bits}-bit', 'symmetric': True, 'bits': bits, 'include_zero': False,
                      'narrow_range': False, 'channels': chans, 'counts0': sparse(counts0)})
# Asymmetric per-tensor activations: a ReLU-like stream with a heavy tail, and a shifted heavy stream.
act = np.maximum(gen(spec(51, 60000, 'normal', 0.3, 1.0)), f32(0))
act[::500] = np.abs(gen(spec(52, 120, 'heavy', 0.0, 0.8)))
shifted = gen(spec(53, 30000, 'heavy', 1.0, 0.3))
for name, x, bits, iz, narrow in [('ReLU activations, 8-bit, includeZero', act, 8, True, False),
                                  ('shifted heavy tails, 4-bit narrow', shifted, 4, False, True)]:
    counts, (ranges, best) = mse_asymmetric(x, bits, 2048, iz, narrow)
    mse_cases.append({'name': name, 'symmetric': False, 'bits': bits, 'include_zero': iz, 'narrow_range': narrow,
                      'channels': [{'candidates': ranges, 'best_error': best}], 'counts0': sparse(counts)})

print(json.dumps({
    'generator': 'scripts/golden/observers.py (NumPy %s)' % np.__version__,
    'data_checks': [{'spec': s, **checksum(gen(s))} for s in [mm_batches[1], pt_batches[2], spec(41, 16, 'normal', 0.0, 1.0)]],
    'running': {'batches': mm_batches, 'shape': [100, 3], 'cases': running_cases},
    'percentile': {'batches': pt_batches, 'cases': percentile_cases},
    'percentile_per_channel': {'batches': pc_batches, 'scale': pc_scale.tolist(), 'cases': pc_cases},
    'mse': {'weights': {'normal': spec(41, 4096 * 4, 'normal', 0.0, 1.0), 'heavy': spec(42, 4096, 'heavy', 0.0, 1.0),
                        'scale': [0.05, 0.2, 1.0, 3.0], 'heavy_scale': 3.0},
            'relu': {'base': spec(51, 60000, 'normal', 0.3, 1.0), 'tail': spec(52, 120, 'heavy', 0.0, 0.8), 'every': 500},
            'shifted': spec(53, 30000, 'heavy', 1.0, 0.3),
            'cases': mse_cases},
}, indent=None))
