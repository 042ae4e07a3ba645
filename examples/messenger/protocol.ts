/**
 * The messenger's wire format: the JSON the server and the clients exchange over HTTP, shared by
 * the server (Node), the CLI client (Node) and the browser client (served to the page as-is after
 * type stripping).
 *
 * Runtime-agnostic on purpose: no Node built-ins, and chiffre only as types. Functions that need
 * chiffre's key classes take them as an argument ({@link KeyCodecs}), because the Node side imports
 * chiffre from `src/` while the page loads the built ESM (`/chiffre/index.js`).
 *
 * Bytes travel as standard base64. Everything the server stores is public: identity and prekey
 * public keys, signatures, and message ciphertexts.
 *
 * @module
 */
import type { CiphertextMessage, KemPublicKey, PreKeyBundle, PublicKey } from '../../src/index.js';
import type { PreKeyUpload } from '../../src/prekeys.js';

// ------------------------------------------------------------------------------------------------
// Limits (the server enforces them; clients stay inside them)
// ------------------------------------------------------------------------------------------------

/** Largest request body the server reads, in bytes (a 1,000-key upload is about 70 KiB). */
export const MAX_BODY_BYTES = 256 * 1024;
/** Largest message ciphertext, in bytes (a first PQXDH message is about 1.8 KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** One-time prekeys per upload (PreKeyLifecycle uploads at most 1,000). */
export const MAX_PREKEYS_PER_UPLOAD = 1000;
/** One-time prekeys the server keeps per device. */
export const MAX_STORED_PREKEYS = 2000;
/** Messages queued per device before the server refuses more. */
export const MAX_MAILBOX = 1000;
/** Envelopes returned by one poll. */
export const MAX_POLL_BATCH = 100;
/** Longest long-poll, in seconds. */
export const MAX_POLL_WAIT_SECONDS = 30;
/** Device ids are 1..127, as Signal's. */
export const MAX_DEVICE_ID = 127;

/** Account names: letters, digits, `-` and `_`, 1 to 64 characters. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// ------------------------------------------------------------------------------------------------
// JSON shapes
// ------------------------------------------------------------------------------------------------

/** `PUT /v1/keys/:name/:deviceId`: publish keys (the first upload registers the device). */
export interface UploadRequest {
  /** Required on the first upload (registration), ignored afterwards. */
  readonly registrationId?: number;
  readonly identityKey: string;
  readonly signedPreKey?: {
    readonly id: number;
    readonly publicKey: string;
    readonly signature: string;
  };
  readonly lastResortKyberPreKey?: {
    readonly id: number;
    readonly publicKey: string;
    readonly signature: string;
  };
  readonly oneTimePreKeys: readonly { readonly id: number; readonly publicKey: string }[];
}

/** The answer to an upload. `token` is present only for a new registration. */
export interface UploadResponse {
  readonly registered: boolean;
  readonly token?: string;
  readonly oneTimePreKeys: number;
}

/** `GET /v1/keys/:name/:deviceId`: one bundle, consuming one one-time prekey if any is left. */
export interface WireBundle {
  readonly name: string;
  readonly deviceId: number;
  readonly registrationId: number;
  readonly identityKey: string;
  readonly signedPreKey: {
    readonly id: number;
    readonly publicKey: string;
    readonly signature: string;
  };
  readonly kyberPreKey: {
    readonly id: number;
    readonly publicKey: string;
    readonly signature: string;
  };
  /** Absent when the device ran out of one-time prekeys (the last-resort Kyber key still works). */
  readonly preKey?: { readonly id: number; readonly publicKey: string };
}

/** `POST /v1/messages/:name/:deviceId`: send one message to one device. */
export interface SendRequest {
  readonly type: CiphertextMessage['type'];
  readonly body: string;
}

/** A queued message as delivered to its recipient. `from` is set by the server (authenticated). */
export interface Envelope {
  readonly id: number;
  readonly from: { readonly name: string; readonly deviceId: number };
  readonly type: CiphertextMessage['type'];
  readonly body: string;
  readonly receivedAt: number;
}

/** Every error answer: `{ error: { code, message } }` with a 4xx or 5xx status. */
export interface ErrorResponse {
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * What the clients put inside the encryption (the server never sees it): a text message, or one
 * of the two recovery notices {@link SessionRecovery} sends. `envelopeId` names the server
 * envelope the notice is about, so the peer can send that message again.
 */
export type Content =
  | { readonly kind: 'text'; readonly id: string; readonly text: string; readonly sentAt: number }
  | { readonly kind: 'session-reset'; readonly envelopeId?: number }
  | { readonly kind: 'resend-request'; readonly envelopeId: number };

// ------------------------------------------------------------------------------------------------
// Bytes
// ------------------------------------------------------------------------------------------------

/** Standard base64 of `bytes` (no Node `Buffer`: this file also runs in the page). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decode standard base64; throws a `TypeError` naming `field` for anything else (so a server can
 * answer 400 with it).
 */
export function fromBase64(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string' || !BASE64.test(text)) {
    throw new TypeError(`${field} must be base64`);
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Serialize message content for encryption. */
export function encodeContent(content: Content): Uint8Array {
  return encoder.encode(JSON.stringify(content));
}

/**
 * Parse decrypted content. Never throws: a peer running another client (or a bug) yields a text
 * message saying so, not a crash in the receive loop.
 */
export function decodeContent(plaintext: Uint8Array): Content {
  try {
    const v = JSON.parse(decoder.decode(plaintext)) as Partial<Record<string, unknown>>;
    if (v.kind === 'text' && typeof v.text === 'string' && typeof v.id === 'string') {
      return {
        kind: 'text',
        id: v.id,
        text: v.text,
        sentAt: typeof v.sentAt === 'number' ? v.sentAt : 0,
      };
    }
    if (v.kind === 'session-reset') {
      return typeof v.envelopeId === 'number'
        ? { kind: 'session-reset', envelopeId: v.envelopeId }
        : { kind: 'session-reset' };
    }
    if (v.kind === 'resend-request' && typeof v.envelopeId === 'number') {
      return { kind: 'resend-request', envelopeId: v.envelopeId };
    }
  } catch {
    // fall through
  }
  return { kind: 'text', id: '', text: '(unreadable message content)', sentAt: 0 };
}

// ------------------------------------------------------------------------------------------------
// Keys and bundles
// ------------------------------------------------------------------------------------------------

/** The chiffre classes the bundle decoder needs (from `src/` in Node, from the ESM in the page). */
export interface KeyCodecs {
  readonly PublicKey: { deserialize(bytes: Uint8Array): PublicKey };
  readonly KemPublicKey: { deserialize(bytes: Uint8Array): KemPublicKey };
}

/** What {@link PreKeyLifecycle} hands to its `upload` callback, as JSON. */
export function encodeUpload(keys: PreKeyUpload, registrationId?: number): UploadRequest {
  return {
    ...(registrationId === undefined ? {} : { registrationId }),
    identityKey: toBase64(keys.identityKey.serialize()),
    ...(keys.signedPreKey === undefined
      ? {}
      : {
          signedPreKey: {
            id: keys.signedPreKey.id,
            publicKey: toBase64(keys.signedPreKey.publicKey.serialize()),
            signature: toBase64(keys.signedPreKey.signature),
          },
        }),
    ...(keys.lastResortKyberPreKey === undefined
      ? {}
      : {
          lastResortKyberPreKey: {
            id: keys.lastResortKyberPreKey.id,
            publicKey: toBase64(keys.lastResortKyberPreKey.publicKey.serialize()),
            signature: toBase64(keys.lastResortKyberPreKey.signature),
          },
        }),
    oneTimePreKeys: keys.oneTimePreKeys.map((k) => ({
      id: k.id,
      publicKey: toBase64(k.publicKey.serialize()),
    })),
  };
}

/**
 * A bundle from the key directory, as chiffre's {@link PreKeyBundle}. Key parsing errors propagate
 * (`InvalidKeyError`); the signatures are checked later by `processPreKeyBundle`.
 */
export function decodeBundle(wire: WireBundle, codecs: KeyCodecs): PreKeyBundle {
  const { PublicKey, KemPublicKey } = codecs;
  return {
    registrationId: wire.registrationId,
    deviceId: wire.deviceId,
    preKeyId: wire.preKey?.id,
    preKey:
      wire.preKey === undefined
        ? undefined
        : PublicKey.deserialize(fromBase64(wire.preKey.publicKey, 'preKey.publicKey')),
    signedPreKeyId: wire.signedPreKey.id,
    signedPreKey: PublicKey.deserialize(
      fromBase64(wire.signedPreKey.publicKey, 'signedPreKey.publicKey'),
    ),
    signedPreKeySignature: fromBase64(wire.signedPreKey.signature, 'signedPreKey.signature'),
    kyberPreKeyId: wire.kyberPreKey.id,
    kyberPreKey: KemPublicKey.deserialize(
      fromBase64(wire.kyberPreKey.publicKey, 'kyberPreKey.publicKey'),
    ),
    kyberPreKeySignature: fromBase64(wire.kyberPreKey.signature, 'kyberPreKey.signature'),
    identityKey: PublicKey.deserialize(fromBase64(wire.identityKey, 'identityKey')),
  };
}

/** `name.deviceId` → parts; a bare `name` means device 1. Throws a `TypeError` when malformed. */
export function parseAddress(text: string): { name: string; deviceId: number } {
  const m = /^([A-Za-z0-9_-]{1,64})(?:\.(\d{1,3}))?$/.exec(text.trim());
  const deviceId = m?.[2] === undefined ? 1 : Number(m[2]);
  if (m === null || deviceId < 1 || deviceId > MAX_DEVICE_ID) {
    throw new TypeError(`not an address: "${text}" (expected name or name.deviceId)`);
  }
  return { name: m[1] as string, deviceId };
}

/** Group a 60-digit safety number as Signal shows it: twelve groups of five. */
export function formatSafetyNumber(digits: string): string {
  return (digits.match(/.{1,5}/g) ?? []).join(' ');
}
