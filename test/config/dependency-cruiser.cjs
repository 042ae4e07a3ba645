/**
 * Layer rules (docs/architecture.md): a module imports only from layers to its left.
 * errors/constants → primitives → keys → wire → agreement → spqr → ratchet → state → storage →
 * session → adapters → testing; index.ts and hazmat/ re-export only.
 */
const order = [
  'primitives',
  'keys',
  'wire',
  'agreement',
  'spqr',
  'ratchet',
  'state',
  'storage',
  'session',
  'fingerprint',
  'adapters',
  'testing',
];

const layerRules = order.map((layer, i) => ({
  name: `${layer}-imports-only-lower-layers`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: {
    path: `^src/(${order.slice(i + 1).join('|') || 'NONE'}|hazmat|index\\.ts)`,
  },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'leaves-stay-leaves',
      severity: 'error',
      from: { path: '^src/(errors|constants)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(errors|constants)\\.ts$' },
    },
    {
      name: 'only-primitives-import-noble',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/primitives/' },
      to: { path: '@noble/' },
    },
    {
      name: 'no-node-builtins-in-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
