// Runs the PyTorch peer baseline (/work/shared/peers/torch_qat.py, DESIGN §8) on exactly the data the
// TF.js benchmark uses: the split is written to temporary IDX files, the peer trains the same model
// with the same batch size and epochs on one thread, and its JSON line is parsed.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PEER_SCRIPT = process.env.QAT_PEER_SCRIPT ?? '/work/shared/peers/torch_qat.py';
export const PEER_PYTHON = process.env.QAT_PEER_PYTHON ?? '/usr/bin/python3';

/** What the peer prints (its keys), as far as the benchmark uses them. */
export interface PeerResult {
  peer: string;
  torch: string;
  engine: string;
  threads: number;
  model: string;
  train_samples: number;
  test_samples: number;
  float_train_samples_per_s: number;
  float_accuracy: number;
  ptq_int8_accuracy?: number;
  qat_train_samples_per_s: number;
  qat_fakequant_accuracy?: number;
  qat_int8_accuracy?: number;
  float_latency_ms_batch1000?: number;
  int8_latency_ms_batch1000?: number;
  float_param_bytes?: number;
  [key: string]: unknown;
}

export interface PeerImages {
  /** Pixel bytes, N × rows × cols. */
  images: Uint8Array;
  labels: Int32Array;
  rows: number;
  cols: number;
}

export interface PeerRun {
  model: 'mlp' | 'cnn';
  train: PeerImages;
  test: PeerImages;
  batchSize: number;
  epochs: number;
  qatEpochs?: number;
  lr?: number;
  qatLr?: number;
  seed?: number;
  threads?: number;
  timeoutMs?: number;
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err?.message ?? '') });
    });
  });
}

/** null when PyTorch imports; otherwise why the peer cannot run. */
export async function peerUnavailable(): Promise<string | null> {
  const r = await run(PEER_PYTHON, ['-c', 'import torch'], 120_000);
  if (r.code === 0) return null;
  return `${PEER_PYTHON} cannot import torch (${r.stderr.trim().split('\n').pop() ?? 'unknown error'}); install it with apt-get install -y python3-torch`;
}

/** IDX (the MNIST file format): big-endian magic 0x0000 08 <ndim>, then ndim uint32 sizes, then bytes. */
export function idx(bytes: Uint8Array, dims: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
}

function labelsToBytes(labels: Int32Array): Uint8Array {
  const out = new Uint8Array(labels.length);
  labels.forEach((l, i) => {
    if (l < 0 || l > 255) throw new Error(`label ${l} does not fit an IDX byte`);
    out[i] = l;
  });
  return out;
}

/**
 * Runs the peer and returns its result, or null (with a message on stderr) when PyTorch is missing.
 * Throws if the peer itself fails.
 */
export async function runPeer(o: PeerRun): Promise<PeerResult | null> {
  const missing = await peerUnavailable();
  if (missing != null) {
    process.stderr.write(`peer skipped: ${missing}\n`);
    return null;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'qat-peer-'));
  try {
    const files: Record<string, string> = {};
    const write = (name: string, data: Buffer) => {
      files[name] = path.join(dir, name);
      writeFileSync(files[name]!, data);
    };
    for (const [split, d] of [['train', o.train], ['test', o.test]] as const) {
      const n = d.labels.length;
      if (d.images.length !== n * d.rows * d.cols) throw new Error(`${split}: ${d.images.length} bytes for ${n} images of ${d.rows}×${d.cols}`);
      write(`${split}-images`, idx(d.images, [n, d.rows, d.cols]));
      write(`${split}-labels`, idx(labelsToBytes(d.labels), [n]));
    }
    const args = [
      PEER_SCRIPT,
      '--train-images', files['train-images']!,
      '--train-labels', files['train-labels']!,
      '--test-images', files['test-images']!,
      '--test-labels', files['test-labels']!,
      '--model', o.model,
      '--epochs', String(o.epochs),
      '--qat-epochs', String(o.qatEpochs ?? 1),
      '--batch-size', String(o.batchSize),
      '--lr', String(o.lr ?? 1e-3),
      '--qat-lr', String(o.qatLr ?? 1e-4),
      '--seed', String(o.seed ?? 0),
      '--threads', String(o.threads ?? 1),
    ];
    const r = await run(PEER_PYTHON, args, o.timeoutMs ?? 30 * 60_000);
    if (r.code !== 0) throw new Error(`peer failed (exit ${r.code}): ${r.stderr.trim().slice(-2000)}`);
    const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (line == null) throw new Error(`peer printed no JSON: ${r.stdout.slice(-500)}`);
    return JSON.parse(line) as PeerResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
