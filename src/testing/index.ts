/**
 * Test tooling for adapter authors: the storage conformance kit. Subpath `chiffre/testing`.
 *
 * Framework-agnostic: the cases are plain objects whose `run` rejects with a
 * {@link ConformanceError} on failure. Not for production code paths.
 *
 * @module
 */
export { assert, ConformanceError, storeConformanceCases } from './conformance.js';
export type {
  ConformanceCase,
  ConformanceFactory,
  ConformanceNeed,
  ConformanceTarget,
} from './conformance.js';
