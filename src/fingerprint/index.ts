/**
 * `chiffre/fingerprint`: safety numbers (fingerprints), as libsignal computes them.
 *
 * @module
 */
export { Fingerprint, FINGERPRINT_ITERATIONS } from './fingerprint.js';
