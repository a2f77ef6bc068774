// Tar (optionally gzip-compressed) unpacked into memory with tar-stream: regular files kept by their
// normalised path, directories skipped, and everything a file system would treat specially — symbolic
// and hard links, devices, FIFOs, unknown types — refused with the entry's name. Each kept entry is
// allocated once at its declared size (checked against the limits first) and filled as data arrives.
import { extract as tarExtract, type Header } from 'tar-stream';
import { DatasetError } from '../errors.js';
import { ArchiveBudget, type ArchiveLimits } from './limits.js';
import { entryPath } from './entryPath.js';
import { gunzipBounded } from './gunzip.js';

/** tar bytes per entry beyond its data: a 512-byte header, up to 511 bytes of padding, a pax header. */
const TAR_OVERHEAD_PER_ENTRY = 2048;

const REFUSED: Partial<Record<Header['type'], string>> = {
  symlink: 'is a symbolic link',
  link: 'is a hard link',
  'character-device': 'is a character device',
  'block-device': 'is a block device',
  fifo: 'is a FIFO',
};

export async function readTar(
  input: AsyncIterable<Uint8Array>,
  o: { name: string; limits: Required<ArchiveLimits>; gzip: boolean },
): Promise<Map<string, Uint8Array>> {
  const archive = o.name;
  const budget = new ArchiveBudget(o.limits, archive);
  const files = new Map<string, Uint8Array>();
  let current: string | undefined;
  let last: string | undefined;
  const where = () => (current !== undefined ? ` (inside entry ${JSON.stringify(current)})` : last !== undefined ? ` (after entry ${JSON.stringify(last)})` : ' (before the first entry)');
  const extract = tarExtract();
  let failure: unknown;
  const fail = (e: unknown) => {
    failure ??= e;
    extract.destroy();
  };
  const closed = new Promise<void>((resolve) => extract.on('close', () => resolve()));
  extract.on('error', (e: unknown) => (failure ??= e));

  extract.on('entry', (header, stream, next) => {
    let keep: { path: string; bytes: Uint8Array } | undefined;
    try {
      keep = admit(header);
    } catch (e) {
      fail(e);
      return;
    }
    current = header.name;
    let at = 0;
    stream.on('data', (data: unknown) => {
      const chunk = data as Uint8Array;
      if (keep) keep.bytes.set(chunk, at);
      at += chunk.length;
    });
    stream.on('error', () => {}); // reported through the extractor
    stream.on('end', () => {
      if (keep) files.set(keep.path, keep.bytes);
      last = header.name;
      current = undefined;
      next();
    });
  });

  function admit(header: Header): { path: string; bytes: Uint8Array } | undefined {
    budget.entry(header.name);
    const field = `${archive}:${header.name}`;
    const path = entryPath(header.name, archive);
    const refused = header.type === null ? `has an unsupported tar entry type` : REFUSED[header.type];
    if (refused) throw new DatasetError(field, `${refused}${header.linkname ? ` (to ${JSON.stringify(header.linkname)})` : ''}: only regular files and directories are accepted`);
    if (header.type === 'directory') return undefined;
    if (files.has(path)) throw new DatasetError(field, `appears twice in the archive (as ${JSON.stringify(path)})`);
    budget.reserve(header.name, header.size);
    return { path, bytes: new Uint8Array(header.size) };
  }

  const source = o.gzip
    ? gunzipBounded(input, {
        limits: o.limits,
        maxOutput: o.limits.maxTotalBytes + TAR_OVERHEAD_PER_ENTRY * (o.limits.maxEntries + 2),
        field: archive,
        where,
      })
    : input;
  try {
    for await (const chunk of source) {
      if (failure !== undefined || extract.destroyed) break;
      if (!extract.write(chunk)) await drained(extract, closed);
    }
    if (failure === undefined && !extract.destroyed) extract.end(undefined); // streamx's end(data): nothing more to write
  } catch (e) {
    fail(e);
  }
  await closed;
  if (failure !== undefined) throw describe(failure, archive, where());
  return files;
}

function drained(extract: ReturnType<typeof tarExtract>, closed: Promise<void>): Promise<void> {
  let onDrain: () => void = () => {};
  const drain = new Promise<void>((resolve) => {
    onDrain = resolve;
    extract.once('drain', onDrain);
  });
  return Promise.race([drain, closed]).finally(() => extract.off('drain', onDrain));
}

/** tar-stream's plain errors as DatasetErrors that say where the archive broke. */
function describe(e: unknown, archive: string, where: string): unknown {
  if (e instanceof DatasetError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/unexpected end of data/i.test(message)) return new DatasetError(archive, `is truncated: the tar data ends early${where}`);
  if (/invalid (tar )?header|unknown format|header exceeds/i.test(message)) {
    return new DatasetError(archive, `has a corrupt tar header${where}: ${message.replace(/\. Maybe.*$/, '')} (not a tar archive, or damaged)`);
  }
  return e;
}
