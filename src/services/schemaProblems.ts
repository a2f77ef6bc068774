// Turns TypeBox validation errors into the `{field, reason}` list of a 400/422: one reason per field,
// worded for the person who typed the value (the allowed values, the value received).
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { FieldProblem } from '../errors/index.js';

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

const get = (root: unknown, pointer: string): unknown =>
  pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), root);

export function schemaProblems(schema: TSchema, value: unknown, root = 'config'): FieldProblem[] {
  const byField = new Map<string, string>();
  for (const e of Value.Errors(schema, value)) {
    const params = e.params as Record<string, unknown>;
    const at = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const got = get(value, e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const known = Object.keys((schema as { properties?: object }).properties ?? {});
      for (const extra of (params.additionalProperties as string[] | undefined) ?? []) {
        byField.set([at, extra].filter(Boolean).join('.'), `is not a known option (known: ${known.join(', ')})`);
      }
      continue;
    }
    if (e.keyword === 'boolean') continue; // the additionalProperties entry above names it better
    const field = at || root;
    if (byField.has(field)) continue; // the first reason is the most basic one (type before range)
    if (e.keyword === 'enum') byField.set(field, `must be one of ${(params.allowedValues as unknown[]).map(show).join(', ')}, got ${show(got)}`);
    else if (e.keyword === 'type') byField.set(field, `must be ${params.type === 'integer' ? 'an integer' : `a ${String(params.type)}`}, got ${show(got)}`);
    else if (e.keyword === 'required') byField.set([at, String(params.requiredProperties ?? params.requiredProperty ?? '')].filter(Boolean).join('.'), 'is required');
    else byField.set(field, `${e.message}, got ${show(got)}`);
  }
  return [...byField].map(([field, reason]) => ({ field, reason }));
}
