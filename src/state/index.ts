/**
 * The state layer: persisted records and their byte formats.
 *
 * @module
 */
export { KyberPreKeyRecord, PreKeyRecord, SignedPreKeyRecord } from './prekey-records.js';
export { SessionRecord } from './session-record.js';
