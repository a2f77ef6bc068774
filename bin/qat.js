#!/usr/bin/env node
// Runs the compiled CLI (npm run build). From a source checkout without a build, use `npx tsx src/cli/main.ts`.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('qat: dist/ is missing; run `npm run build` first\n');
  process.exit(1);
}
await import(entry.href);
