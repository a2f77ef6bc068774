// Which dataset an unpacked archive holds: the four IDX files of the MNIST layout (raw or .gz, in any
// folder), or exactly one CSV/TSV/JSON Lines/NPZ file. Files that archivers add on their own — macOS
// resource forks (`__MACOSX/`, `._x`), `.DS_Store`, any hidden file — are not candidates, and neither is
// .txt (a README would collide with the data; a .txt dataset is accepted as a plain file, not inside).
import { DatasetError } from '../errors.js';
import { IDX_FILES } from '../idx.js';

export type TabularFormat = 'csv' | 'tsv' | 'jsonl' | 'npz';

export type ArchiveDataset =
  | { kind: 'idx'; files: Map<string, Uint8Array> }
  | { kind: 'file'; name: string; bytes: Uint8Array; format: TabularFormat };

const FORMATS: Record<string, TabularFormat> = { '.csv': 'csv', '.tsv': 'tsv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.npz': 'npz' };

/** The format a file name's extension names (case-insensitive), if it is one a dataset comes in. */
export function formatOf(name: string): TabularFormat | undefined {
  const m = /\.[^./]+$/.exec(name.toLowerCase());
  return m ? FORMATS[m[0]] : undefined;
}

const IDX_LEAVES = new Set(Object.values(IDX_FILES).flatMap((base) => [base, base.replace(/-(idx\d)/, '.$1')]));

function isJunk(path: string): boolean {
  return path.split('/').some((s) => s.startsWith('.') || s === '__MACOSX');
}

export function datasetInArchive(files: Map<string, Uint8Array>, archive: string): ArchiveDataset {
  const real = [...files.keys()].filter((p) => !isJunk(p));
  if (real.some((p) => IDX_LEAVES.has(p.split('/').pop()!.replace(/\.gz$/i, '')))) {
    return { kind: 'idx', files: new Map(real.map((p) => [p, files.get(p)!])) };
  }
  const candidates = real.filter((p) => formatOf(p) !== undefined);
  const listing = real.length > 0 ? real.slice(0, 20).join(', ') + (real.length > 20 ? `, … (${real.length} files)` : '') : 'no files';
  if (candidates.length === 0) {
    throw new DatasetError(archive, `holds no dataset: expected the four IDX files (${Object.values(IDX_FILES).join(', ')}, raw or .gz) or one .csv/.tsv/.jsonl/.npz file; found ${listing}`);
  }
  if (candidates.length > 1) {
    throw new DatasetError(archive, `holds ${candidates.length} dataset files (${candidates.join(', ')}): an archive must hold exactly one`);
  }
  const name = candidates[0]!;
  return { kind: 'file', name, bytes: files.get(name)!, format: formatOf(name)! };
}
