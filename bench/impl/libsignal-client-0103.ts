/**
 * `@signalapp/libsignal-client` 0.103.0 (native Rust through N-API): the reference every ratio
 * is computed against.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type { Implementation } from '../types.js';
import { createLibsignalClient, type LibsignalClient } from './libsignal-client-common.js';

const lib = createRequire(import.meta.url)('libsignal-client-0103') as LibsignalClient;

const implementation: Implementation = createLibsignalClient(lib, {
  id: 'libsignal-client-0103',
  label: 'libsignal-client 0.103.0 (native)',
  protocol: 'PQXDH (Kyber-1024) + Double Ratchet + SPQR V1 (required)',
  withLocalAddress: true,
});
export default implementation;
