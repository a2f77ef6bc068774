// Blob keys come partly from users (uploaded file names): only plain relative paths are accepted, so a
// key can never reach outside the store's root.
import { ValidationError } from '../errors/index.js';

const SEGMENT = /^[A-Za-z0-9._-]+$/;

export function checkKey(key: string, field = 'key'): string {
  const segments = key.split('/');
  const bad = key.length === 0 || key.length > 512 || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..');
  if (bad) throw new ValidationError([{ field, reason: `'${key}' is not a valid name (letters, digits, '.', '_', '-' and '/' separators; no '..')` }]);
  return key;
}

/** A prefix is a key that may end with '/'. */
export const checkPrefix = (prefix: string): string => (prefix.endsWith('/') ? `${checkKey(prefix.slice(0, -1), 'prefix')}/` : checkKey(prefix, 'prefix'));
