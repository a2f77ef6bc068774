// Strict number parsing for data files: decimal notation only (no hex/binary/octal, no empty strings).

const NON_FINITE = /^\s*[+-]?(nan|inf|infinity)\s*$/i;

/** The number `text` spells, or undefined when it is not a decimal number. NaN/Inf spellings give NaN/±Infinity. */
export function parseDecimal(text: string): number | undefined {
  const v = Number(text);
  if (Number.isNaN(v)) {
    const m = NON_FINITE.exec(text);
    if (!m) return undefined;
    return m[1]!.toLowerCase() === 'nan' ? Number.NaN : text.trim().startsWith('-') ? -Infinity : Infinity;
  }
  // Number() accepts '', whitespace, 0x.., 0b.., 0o.. and 'Infinity': refuse the first four.
  if (v === 0 && text.trim() === '') return undefined;
  const t = text.trim();
  const c1 = t.charCodeAt(1) | 0x20; // lower-case
  if (t.length > 2 && t.charCodeAt(0) === 48 && (c1 === 120 || c1 === 98 || c1 === 111)) return undefined;
  return v;
}

/** Whether `text` is a decimal number (finite or a NaN/Inf spelling). */
export function isNumeric(text: string): boolean {
  return parseDecimal(text) !== undefined;
}
