/**
 * SPQR's internal failure reasons. They never leave the library as such: the session cipher maps
 * every one of them to `InvalidMessageError('post-quantum ratchet error')` (wire input) or
 * `InvalidRecordError` (stored state), like libsignal.
 *
 * @module
 */

/** Why SPQR refused a message. */
export type SpqrFailure =
  | 'malformed'
  | 'mac'
  | 'epoch-out-of-range'
  | 'version-mismatch'
  | 'minimum-version'
  | 'key-jump'
  | 'key-trimmed'
  | 'key-already-requested'
  | 'erroneous-data'
  | 'send-epoch-decreased'
  | 'chain-unavailable';

/** Thrown inside the SPQR layer; always caught and mapped by the session layer. */
export class SpqrError extends Error {
  readonly reason: SpqrFailure;
  constructor(reason: SpqrFailure) {
    super(`SPQR: ${reason}`);
    this.name = 'SpqrError';
    this.reason = reason;
  }
}
