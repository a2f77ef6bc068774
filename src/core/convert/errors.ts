// Conversion refusals, collected for the whole model so a job reports every problem at once.

export interface ConversionIssue {
  layer: string;
  className: string;
  reason: string;
}

export class ConversionError extends Error {
  constructor(readonly issues: ConversionIssue[]) {
    super(`cannot convert to int8: ${issues.map((i) => `${i.layer} (${i.className}): ${i.reason}`).join('; ')}`);
    this.name = 'ConversionError';
  }
}
