/** An error's first line: backends' load errors carry whole stacks and install instructions. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
