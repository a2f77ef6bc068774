// Charts drawn with Chart.js (the UMD build, loaded by index.html as the global `Chart`). Each canvas has
// role="img" and a label, and every chart's numbers are also in a table or text on the page.

const Chart = globalThis.Chart;

// Okabe–Ito colours: distinguishable with colour-blindness; validation series are dashed.
export const COLORS = { float: '#0072B2', qat: '#D55E00', floatVal: '#56B4E9', qatVal: '#E69F00', weight: '#0072B2', output: '#E69F00', bits: '#009E73' };

if (Chart) {
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  Chart.defaults.color = '#374151';
  Chart.defaults.animation = false; // live updates should not jitter; also faster
  Chart.defaults.maintainAspectRatio = false;
}

/** A canvas in a sized box (Chart.js needs a positioned, sized parent to be responsive). */
export function chartBox(id, label) {
  const canvas = document.createElement('canvas');
  canvas.id = id;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const box = document.createElement('div');
  box.className = 'chart-box';
  box.append(canvas);
  return { box, canvas };
}

/**
 * A line chart over epochs. `series`: [{key, label, color, dashed, points: [{x, y}]}]. Returns an
 * object whose update(series) redraws with new data (keeps the chart, so live updates are cheap).
 */
export function lineChart(canvas, { yLabel, percent = false, qatStarts = null }) {
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        // offset: half a step of room at both ends, so the first and last epochs are not on the frame.
        x: { type: 'linear', offset: true, title: { display: true, text: 'epoch (float, then QAT)' }, ticks: { precision: 0 } },
        y: {
          title: { display: true, text: yLabel },
          ...(percent ? { ticks: { callback: (v) => `${Math.round(v * 1000) / 10}%` } } : {}),
        },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxHeight: 2, boxWidth: 18 } },
        tooltip: {
          callbacks: {
            title: (items) => (items[0] ? `epoch ${items[0].parsed.x}` : ''),
            label: (item) => `${item.dataset.label}: ${percent ? `${(item.parsed.y * 100).toFixed(2)}%` : Number(item.parsed.y.toPrecision(4))}`,
          },
        },
      },
    },
    plugins: [qatMarker],
  });
  chart.$qatStarts = qatStarts;
  return {
    chart,
    update(series, starts) {
      chart.$qatStarts = starts ?? null;
      chart.data.datasets = series
        .filter((s) => s.points.length > 0)
        .map((s) => ({
          label: s.label,
          data: s.points,
          borderColor: s.color,
          backgroundColor: s.color,
          borderDash: s.dashed ? [6, 4] : [],
          borderWidth: 2,
          pointRadius: s.points.length > 30 ? 0 : 3,
          pointHoverRadius: 5,
          tension: 0,
          clip: 8, // points on the top or bottom edge are drawn whole
        }));
      chart.update();
    },
    destroy: () => chart.destroy(),
  };
}

/** Draws a dashed vertical line where QAT starts (x = chart.$qatStarts). */
const qatMarker = {
  id: 'qatMarker',
  afterDatasetsDraw(chart) {
    const at = chart.$qatStarts;
    const x = chart.scales.x;
    if (at === null || at === undefined || !x || at <= x.min || at >= x.max) return;
    const px = x.getPixelForValue(at);
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.strokeStyle = '#9ca3af';
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(px, chartArea.top);
    ctx.lineTo(px, chartArea.bottom);
    ctx.stroke();
    ctx.fillStyle = '#4b5563';
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText('QAT', px + 4, chartArea.top + 12);
    ctx.restore();
  },
};

/** Per-layer weight and output SQNR (horizontal bars, dB) with each layer's bits in its label. */
export function layerChart(canvas, layers) {
  const labels = layers.map((l) => `${l.name} · ${l.weight_bits === null ? 'float' : `${l.weight_bits}-bit ${l.granularity}`}`);
  const val = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'weight SQNR (dB)', data: layers.map((l) => val(l.weight_sqnr_db)), backgroundColor: COLORS.weight },
        { label: 'output SQNR (dB)', data: layers.map((l) => val(l.output_sqnr_db)), backgroundColor: COLORS.output },
      ],
    },
    options: {
      indexAxis: 'y',
      scales: { x: { title: { display: true, text: 'SQNR (dB), higher is better' }, beginAtZero: true } },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label}: ${item.raw === null ? 'exact (no quantization error)' : `${item.raw.toFixed(1)} dB`}`,
          },
        },
      },
    },
  });
}
