// The import rules of DESIGN.md §2, checked by tests/architecture/layers.test.ts.
// Each layer lists the src/ folders it may import; anything else in src/ is forbidden.
const layers = {
  config: [],
  errors: [],
  core: ['core'],
  engine: ['engine'],
  data: ['data', 'core', 'errors'],
  export: ['export', 'core'],
  storage: ['storage', 'config', 'errors'],
  db: ['db', 'config', 'errors'],
  queue: ['queue', 'config'],
  services: ['services', 'db', 'queue', 'storage', 'errors'],
  workers: ['workers', 'services', 'core', 'data', 'export', 'storage', 'queue'],
  api: ['api', 'services', 'errors', 'config'],
  cli: null, // composition root: may import everything
};

const forbidden = Object.entries(layers)
  .filter(([, allowed]) => allowed !== null)
  .map(([layer, allowed]) => ({
    name: `${layer}-imports`,
    comment: `src/${layer} may import only ${allowed.length ? allowed.map((a) => `src/${a}`).join(', ') : 'nothing in src'} (DESIGN.md §2)`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: '^src/', pathNot: [`^src/(${[layer, ...allowed].join('|')})/`, '^src/db/generated/'] },
  }));

// Only src/db may touch the generated Prisma client; src/core must stay pure (no I/O, no infrastructure).
forbidden.push(
  {
    name: 'prisma-client-only-in-db',
    comment: 'the generated Prisma client is imported only by src/db',
    severity: 'error',
    from: { pathNot: '^src/db/' },
    to: { path: '^src/db/generated/' },
  },
  {
    name: 'core-is-pure',
    comment: 'src/core does no fs, network, database, queue or HTTP work',
    severity: 'error',
    from: { path: '^src/core/' },
    to: { dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer'], pathNot: ['^node_modules/@tensorflow/'] },
  },
  {
    name: 'no-circular',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  {
    name: 'no-dev-deps-in-src',
    comment: 'production code must not need devDependencies',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/db/generated/' },
    to: { dependencyTypes: ['npm-dev'] },
  },
);

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: ['node_modules', '^src/db/generated/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
};
