// The run options as `qat run` flags, generated from RunConfigSchema: `weight_bits` is `--weight-bits`,
// a boolean that defaults to true also gets `--no-…`. The schema fills defaults and validates, so the
// CLI and a job's HTTP `config` accept exactly the same values with the same messages.
import type { Command } from 'commander';
import { ValidationError } from '../../errors/index.js';
import { resolveRunConfig, type RunConfig, RunConfigSchema } from '../../services/runConfig.js';

interface PropSchema {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
}

const properties = RunConfigSchema.properties as unknown as Record<string, PropSchema>;
const kebab = (key: string) => key.replaceAll('_', '-');
const camel = (key: string) => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
const isNumeric = (p: PropSchema) => p.type === 'integer' || p.type === 'number' || (p.enum?.every((v) => typeof v === 'number') ?? false);

export function addRunConfigFlags(cmd: Command): Command {
  for (const [key, p] of Object.entries(properties)) {
    const help = `${p.description ?? ''}${p.default !== undefined && p.type !== 'boolean' ? ` (default: ${String(p.default)})` : ''}`;
    if (p.type === 'boolean') {
      cmd.option(`--${kebab(key)}`, help);
      if (p.default !== false) cmd.option(`--no-${kebab(key)}`, `turn off --${kebab(key)}${p.default === true ? ' (on by default)' : ''}`);
    } else {
      const values = p.enum ? p.enum.join('|') : p.type === 'string' ? 'value' : 'n';
      cmd.option(`--${kebab(key)} <${values}>`, help);
    }
  }
  return cmd;
}

/** Reads the config flags commander parsed; numbers that do not parse stay strings so the message shows them. */
export function runConfigFromFlags(opts: Record<string, unknown>): RunConfig {
  const partial: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(properties)) {
    const v = opts[camel(key)];
    if (v === undefined) continue;
    partial[key] = isNumeric(p) && typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  try {
    return resolveRunConfig(partial);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(err.fields.map((f) => ({ field: `--${kebab(f.field)}`, reason: f.reason })));
    throw err;
  }
}
