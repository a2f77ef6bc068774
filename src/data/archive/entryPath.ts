// Archive entry names are untrusted: nothing here writes them to disk, but they become the keys callers
// look files up by, and the same archives may be unpacked elsewhere later. Absolute names and `..`
// segments are refused outright (never "sanitised" into something else), backslashes count as
// separators (archives made on Windows), and `.`/empty segments are dropped so `./a//b` is `a/b`.
import { DatasetError } from '../errors.js';

/** The normalised relative path of an entry, or a DatasetError naming it. */
export function entryPath(raw: string, archive: string): string {
  const field = `${archive}:${raw}`;
  if (raw.includes('\0')) throw new DatasetError(field, 'has a NUL character in its name');
  const p = raw.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) throw new DatasetError(field, 'has an absolute path: archive entries must be relative');
  const segments = p.split('/');
  if (segments.includes('..')) throw new DatasetError(field, "has a '..' segment: archive entries must stay inside the archive");
  const kept = segments.filter((s) => s !== '' && s !== '.');
  if (kept.length === 0) throw new DatasetError(field, 'has an empty name');
  return kept.join('/');
}
