// DESIGN.md §2's import table, enforced by dependency-cruiser with the rules in .dependency-cruiser.cjs.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const rules = require('../../.dependency-cruiser.cjs') as { forbidden: unknown[]; options: Record<string, unknown> };

async function violations(baseDir: string): Promise<string[]> {
  const result = await cruise(['src'], { ...rules.options, baseDir, validate: true, ruleSet: { forbidden: rules.forbidden } } as never);
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).sort();
}

describe('layering (DESIGN.md §2)', () => {
  it('src/ follows the import rules', async () => {
    expect(await violations(ROOT)).toEqual([]);
  });

  it('the rules catch violations (fixture with known offences)', async () => {
    const found = await violations(fileURLToPath(new URL('./fixture', import.meta.url)));
    expect(found).toEqual([
      'api-imports: src/api/route.ts -> src/db/repo.ts',
      'core-imports: src/core/op.ts -> src/config/index.ts',
      'core-is-pure: src/core/op.ts -> fs',
      'prisma-client-only-in-db: src/api/route.ts -> src/db/generated/client.ts',
    ]);
  });
});
