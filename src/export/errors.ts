// Export refusals. A writer checks the whole model before it writes anything and throws one error
// listing every layer it cannot express, so a job never ships a partial or silently wrong file.

export type ExportFormat = 'onnx-int8' | 'onnx-float' | 'tfjs-int8';

export interface ExportIssue {
  /** The prepared model's layer the refused op comes from. */
  layer: string;
  /** The IntModel op kind (or the Keras class of a float island). */
  op: string;
  reason: string;
}

export class ExportError extends Error {
  constructor(
    readonly format: ExportFormat,
    readonly issues: ExportIssue[],
  ) {
    super(`cannot export ${format}: ${issues.map((i) => `${i.layer} (${i.op}): ${i.reason}`).join('; ')}`);
    this.name = 'ExportError';
  }
}

/** Collects issues while a writer checks a model; throws them all at once. */
export class IssueList {
  readonly issues: ExportIssue[] = [];

  add(layer: string, op: string, reason: string): void {
    this.issues.push({ layer, op, reason });
  }

  throwIfAny(format: ExportFormat): void {
    if (this.issues.length > 0) throw new ExportError(format, this.issues);
  }
}
