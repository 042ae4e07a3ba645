/**
 * The state layer: persisted records and their byte formats.
 *
 * @module
 */
export { KyberPreKeyRecord, PreKeyRecord, SignedPreKeyRecord } from './prekey-records.js';
export { archivedStateAt, SessionRecord, sessionRecordBytes } from './session-record.js';
