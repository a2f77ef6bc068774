// scikit-learn's toy CSVs: optional header lines of its own ("rows,features,class names…"), then
// numeric features with the class index last. Image datasets (digits) are checked to be integer
// pixels in 0..max and scaled to [0, 1] with the known maximum — a fixed scale, like MNIST's /255.
import { parseCsv } from '../csv.js';
import { DatasetError } from '../errors.js';
import type { ParsedDataset } from '../types.js';

export async function parseSklearnCsv(bytes: Uint8Array, o: { name: string; skipRows: number; image?: { shape: number[]; max: number } }): Promise<ParsedDataset> {
  const parsed = await parseCsv(bytes, { name: o.name, skipRows: o.skipRows, header: false, labelColumn: -1, task: 'classification' });
  if (!o.image) return parsed;
  const { x } = parsed.dataset;
  const size = o.image.shape.reduce((a, b) => a * b, 1);
  if (parsed.dataset.sampleShape[0] !== size) throw new DatasetError(o.name, `has ${parsed.dataset.sampleShape[0]} pixels per row, expected ${size} ([${o.image.shape}])`);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isInteger(v) || v < 0 || v > o.image.max) {
      throw new DatasetError(`${o.name}: row ${Math.floor(i / size) + 1 + o.skipRows}, column ${(i % size) + 1}`, `pixel ${v} is not an integer in 0..${o.image.max}`);
    }
    x[i] = v / o.image.max;
  }
  return { ...parsed, dataset: { ...parsed.dataset, sampleShape: [...o.image.shape] } };
}
