// Writes a run's files under --out and records each one's size and sha256 for report.json.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRecord, ArtifactSink } from '../../workers/pipeline/types.js';

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** The pipeline's artifact sink for `qat run`: files under --out. */
export class ArtifactWriter implements ArtifactSink {
  constructor(private readonly out: string) {}

  async write(name: string, kind: string, bytes: Uint8Array | string): Promise<ArtifactRecord> {
    const file = path.join(this.out, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
    const record = { name, kind, size_bytes: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength, sha256: sha256(bytes) };
    return record;
  }
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of a data file, or of a folder's sorted relative names and file hashes (an IDX set). */
export async function pathSha256(p: string): Promise<string> {
  if (!(await stat(p)).isDirectory()) return fileSha256(p);
  const files = (await readdir(p, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? p, e.name));
  const lines = await Promise.all(files.map(async (f) => `${path.relative(p, f)} ${await fileSha256(f)}`));
  return sha256(lines.sort().join('\n'));
}
