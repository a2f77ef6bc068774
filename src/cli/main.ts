// Entry point of the `qat` binary: runs the program and turns errors into exit codes
// (78 = EX_CONFIG for configuration errors, 1 otherwise) with a one-line message.
import { AppError, ConfigError } from '../errors/index.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  const message = err instanceof AppError ? `${err.code}: ${err.message}` : (err as Error).stack ?? String(err);
  process.stderr.write(`qat: ${message}\n`);
  process.exit(err instanceof ConfigError ? 78 : 1);
}
