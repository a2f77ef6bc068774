import type { Dataset } from '../core/train/dataset.js';
import type { Task } from '../core/train/task.js';

/** A parsed dataset with its task and, for classification, the label text of each class code. */
export interface ParsedDataset {
  dataset: Dataset;
  task: Task;
  classNames?: string[];
}
