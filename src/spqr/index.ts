/**
 * The SPQR layer (Sparse Post-Quantum Ratchet V1): message codec, authenticator, symmetric
 * chain, the chunked ML-KEM-768 SCKA, version negotiation and the stored-state codec.
 *
 * @module
 */
export {
  DEFAULT_SPQR_CHAIN_PARAMS,
  initialPqRatchetState,
  PQ_RATCHET_V0,
  spqrRecv,
  spqrSend,
  spqrStatus,
} from './pq-ratchet.js';
export type {
  PqRatchetState,
  SpqrInitParams,
  SpqrRecvResult,
  SpqrSendResult,
  SpqrStatus,
  SpqrVersion,
  VersionNegotiation,
} from './pq-ratchet.js';
export { SpqrError } from './errors.js';
export type { SpqrFailure } from './errors.js';
export { decodePqRatchetState, encodePqRatchetState, writePqRatchetState } from './state-codec.js';
export { decodeSpqrMessage, encodeSpqrMessage } from './message.js';
export type { SpqrMessage, SpqrPayload } from './message.js';
export type { SpqrDirection } from './chain.js';
