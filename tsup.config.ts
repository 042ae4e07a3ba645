import { defineConfig } from 'tsup';

// One entry per public subpath. `splitting` keeps a single copy of shared modules (SignalError
// above all) across entries in both formats, so `chiffre` and `chiffre/errors` agree.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    errors: 'src/errors.ts',
    hazmat: 'src/hazmat/index.ts',
    storage: 'src/storage/index.ts',
    prekeys: 'src/prekeys.ts',
    recovery: 'src/recovery.ts',
    fingerprint: 'src/fingerprint/index.ts',
    'storage-sqlite': 'src/adapters/sqlite.ts',
    'storage-indexeddb': 'src/adapters/indexeddb.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  target: 'es2022',
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  external: [/^@noble\//, 'better-sqlite3'],
});
