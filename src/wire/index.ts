/**
 * The wire layer: byte formats only, no key derivation and no MAC decisions.
 *
 * @module
 */
export { decodePreKeySignalMessage, encodePreKeySignalMessage } from './prekey-signal-message.js';
export type { PreKeySignalMessage, PreKeySignalMessageFields } from './prekey-signal-message.js';
export { ProtobufMessage, ProtobufWriter, readProtobuf } from './protobuf.js';
export type { FailFn, ProtobufField, WireType } from './protobuf.js';
export { attachMac, decodeSignalMessage, encodeSignalMessageBody } from './signal-message.js';
export type { SignalMessage, SignalMessageFields } from './signal-message.js';
export { decodeVersionByte, encodeVersionByte } from './version.js';
