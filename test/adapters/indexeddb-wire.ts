/**
 * What crosses between Node and the browser pages of the IndexedDB tests: bundles, messages and
 * outcomes as JSON-safe values (hex bytes). Used on both sides; imports only `src/` and the
 * browser-safe hex helpers.
 */
import { KemPublicKey, type PreKeyBundle, PublicKey } from '../../src/index.js';
import type { CiphertextMessage } from '../../src/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';

/** A {@link PreKeyBundle} as JSON. */
export interface WireBundle {
  readonly registrationId: number;
  readonly deviceId: number;
  readonly preKeyId: number | null;
  readonly preKey: string | null;
  readonly signedPreKeyId: number;
  readonly signedPreKey: string;
  readonly signedPreKeySignature: string;
  readonly kyberPreKeyId: number;
  readonly kyberPreKey: string;
  readonly kyberPreKeySignature: string;
  readonly identityKey: string;
}

/** A {@link CiphertextMessage} as JSON. */
export interface WireMessage {
  readonly type: 'prekey' | 'whisper';
  readonly body: string;
}

/** What one decrypt attempt in a page gave: the plaintext, or the error code. */
export type Outcome = { readonly text: string } | { readonly code: string };

export function encodeBundle(b: PreKeyBundle): WireBundle {
  return {
    registrationId: b.registrationId,
    deviceId: b.deviceId,
    preKeyId: b.preKeyId ?? null,
    preKey: b.preKey === undefined ? null : bytesToHex(b.preKey.serialize()),
    signedPreKeyId: b.signedPreKeyId,
    signedPreKey: bytesToHex(b.signedPreKey.serialize()),
    signedPreKeySignature: bytesToHex(b.signedPreKeySignature),
    kyberPreKeyId: b.kyberPreKeyId,
    kyberPreKey: bytesToHex(b.kyberPreKey.serialize()),
    kyberPreKeySignature: bytesToHex(b.kyberPreKeySignature),
    identityKey: bytesToHex(b.identityKey.serialize()),
  };
}

export function decodeBundle(w: WireBundle): PreKeyBundle {
  return {
    registrationId: w.registrationId,
    deviceId: w.deviceId,
    preKeyId: w.preKeyId ?? undefined,
    preKey: w.preKey === null ? undefined : PublicKey.deserialize(hexToBytes(w.preKey)),
    signedPreKeyId: w.signedPreKeyId,
    signedPreKey: PublicKey.deserialize(hexToBytes(w.signedPreKey)),
    signedPreKeySignature: hexToBytes(w.signedPreKeySignature),
    kyberPreKeyId: w.kyberPreKeyId,
    kyberPreKey: KemPublicKey.deserialize(hexToBytes(w.kyberPreKey)),
    kyberPreKeySignature: hexToBytes(w.kyberPreKeySignature),
    identityKey: PublicKey.deserialize(hexToBytes(w.identityKey)),
  };
}

export function encodeMessage(m: CiphertextMessage): WireMessage {
  return { type: m.type, body: bytesToHex(m.body) };
}

export function decodeMessage(w: WireMessage): CiphertextMessage {
  return { type: w.type, body: hexToBytes(w.body) };
}
