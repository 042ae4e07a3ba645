/**
 * `@signalapp/libsignal-client` 0.90.0 (native Rust through N-API), the last release that accepts
 * peers without SPQR. Between two 0.90 parties SPQR V1 runs too.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type { Implementation } from '../types.js';
import { createLibsignalClient, type LibsignalClient } from './libsignal-client-common.js';

// 0.90's typings differ from 0.103's only where the adapter already passes arguments untyped.
const lib = createRequire(import.meta.url)('libsignal-client-090') as LibsignalClient;

const implementation: Implementation = createLibsignalClient(lib, {
  id: 'libsignal-client-090',
  label: 'libsignal-client 0.90.0 (native)',
  protocol: 'PQXDH (Kyber-1024) + Double Ratchet + SPQR V1 (V0 accepted)',
  withLocalAddress: false,
});
export default implementation;
