/**
 * Every protocol constant in one place: versions, type bytes, KDF labels (as the exact bytes
 * libsignal uses), sizes and limits. Facts: `docs/protocol.md`.
 *
 * @module
 */

// KDF labels are ASCII; encoding them by hand keeps the core free of `TextEncoder`.
const utf8 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

// ---------------------------------------------------------------------------------------------
// Key encodings
// ---------------------------------------------------------------------------------------------

/** Type byte of a serialized Curve25519 public key ("Djb"). */
export const CURVE25519_KEY_TYPE = 0x05;
/** Raw Curve25519 key length (public u-coordinate or private scalar). */
export const CURVE25519_KEY_LENGTH = 32;
/** Serialized Curve25519 public key length: type byte + 32 bytes. */
export const CURVE25519_PUBLIC_KEY_LENGTH = 33;
/** XEdDSA signature length. */
export const SIGNATURE_LENGTH = 64;

/** KEM type byte of round-3 CRYSTALS-Kyber-1024, the only KEM libsignal's npm builds accept. */
export const KEM_TYPE_KYBER1024 = 0x08;
/** KEM type byte of FIPS 203 ML-KEM-1024. */
export const KEM_TYPE_MLKEM1024 = 0x0a;

// ---------------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------------

/** Message version of PQXDH sessions (high nibble of the version byte). */
export const CIPHERTEXT_MESSAGE_CURRENT_VERSION = 4;
/** Lowest message version that still parses; anything lower is "legacy". */
export const CIPHERTEXT_MESSAGE_PRE_KYBER_VERSION = 3;
/** Session state version for PQXDH sessions. */
export const SESSION_VERSION = 4;

/** Envelope type numbers, as used by servers (`protocol.rs`). */
export const MESSAGE_TYPE_WHISPER = 2;
/** Envelope type of a PreKeySignalMessage. */
export const MESSAGE_TYPE_PREKEY = 3;

// ---------------------------------------------------------------------------------------------
// KDF labels (exact bytes)
// ---------------------------------------------------------------------------------------------

/** HKDF info of the PQXDH master secret (96 bytes: root key, chain key, SPQR auth key). */
export const KDF_INFO_PQXDH: Uint8Array = utf8('WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024');
/** HKDF info of the root-key step of the Double Ratchet. */
export const KDF_INFO_ROOT: Uint8Array = utf8('WhisperRatchet');
/** HKDF info of per-message keys (cipher key, MAC key, IV). */
export const KDF_INFO_MESSAGE_KEYS: Uint8Array = utf8('WhisperMessageKeys');
/** HMAC input that derives a message-key seed from a chain key. */
export const CHAIN_KEY_MESSAGE_SEED: Uint8Array = Uint8Array.of(0x01);
/** HMAC input that advances a chain key. */
export const CHAIN_KEY_NEXT: Uint8Array = Uint8Array.of(0x02);
/** 32 bytes of 0xFF that prefix the PQXDH secret input (and XEdDSA's nonce hash, as 0xFE‖0xFF×31). */
export const PQXDH_DISCONTINUITY_BYTES: Uint8Array = new Uint8Array(32).fill(0xff);

// ---------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------

/** Length of the PQXDH HKDF output. */
export const PQXDH_OUTPUT_LENGTH = 96;
/** Length of the message-key HKDF output: cipher key 32 ‖ MAC key 32 ‖ IV 16. */
export const MESSAGE_KEYS_LENGTH = 80;
/** Length of the truncated SignalMessage MAC. */
export const MAC_LENGTH = 8;

// ---------------------------------------------------------------------------------------------
// Limits (libsignal `consts.rs`)
// ---------------------------------------------------------------------------------------------

/** Largest allowed `counter − next expected index` within one receiving chain. */
export const MAX_FORWARD_JUMPS = 25_000;
/** Skipped message keys kept per receiving chain; the oldest are dropped first. */
export const MAX_MESSAGE_KEYS = 2_000;
/** Receiving chains kept per session state; the oldest are dropped first. */
export const MAX_RECEIVER_CHAINS = 5;
/** Archived (previous) session states kept per record; the oldest are dropped first. */
export const ARCHIVED_STATES_MAX_LENGTH = 40;
/** Seconds after which an unacknowledged initiator session stops being usable (30 days). */
export const MAX_UNACKNOWLEDGED_SESSION_AGE_SECONDS: number = 30 * 24 * 60 * 60;
/** Largest counter value (counters are u32 on the wire). */
export const MAX_COUNTER = 0xffff_ffff;

// ---------------------------------------------------------------------------------------------
// Stored records (local only, never on the wire)
// ---------------------------------------------------------------------------------------------

/**
 * Format version byte that opens every serialized chiffre record. Format 2 adds the SPQR state to
 * session states; format 1 records (no SPQR) are still read.
 */
export const RECORD_FORMAT_VERSION = 2;
/** Oldest record format this version still reads. */
export const RECORD_FORMAT_OLDEST_READABLE = 1;

// ---------------------------------------------------------------------------------------------
// SPQR (Sparse Post-Quantum Ratchet, V1)
// ---------------------------------------------------------------------------------------------

/** SPQR protocol version byte of V1 messages. */
export const SPQR_VERSION_V1 = 1;
/** HKDF info that starts the SPQR symmetric chain (two spaces before "Start", as upstream). */
export const SPQR_CHAIN_START_INFO: Uint8Array = utf8('Signal PQ Ratchet V1 Chain  Start');
/** HKDF info that adds an epoch to the SPQR chain. */
export const SPQR_CHAIN_ADD_EPOCH_INFO: Uint8Array = utf8('Signal PQ Ratchet V1 Chain Add Epoch');
/** HKDF info suffix of one SPQR chain step (prefixed by the u32 big-endian counter). */
export const SPQR_CHAIN_NEXT_INFO: Uint8Array = utf8('Signal PQ Ratchet V1 Chain Next');
/** HKDF info prefix of the authenticator update (suffixed by the u64 big-endian epoch). */
export const SPQR_AUTH_UPDATE_INFO: Uint8Array = utf8(
  'Signal_PQCKA_V1_MLKEM768:Authenticator Update',
);
/** HMAC prefix of the KEM header MAC (then u64be epoch ‖ header). */
export const SPQR_HEADER_MAC_INFO: Uint8Array = utf8('Signal_PQCKA_V1_MLKEM768:ekheader');
/** HMAC prefix of the KEM ciphertext MAC (then u64be epoch ‖ ct1 ‖ ct2). */
export const SPQR_CIPHERTEXT_MAC_INFO: Uint8Array = utf8('Signal_PQCKA_V1_MLKEM768:ciphertext');
/** HKDF info prefix of an epoch secret (then u64be epoch). */
export const SPQR_SCKA_KEY_INFO: Uint8Array = utf8('Signal_PQCKA_V1_MLKEM768:SCKA Key');
/** SPQR MAC length (header and ciphertext MACs). */
export const SPQR_MAC_LENGTH = 32;
/** Bytes of one erasure-code chunk. */
export const SPQR_CHUNK_LENGTH = 32;
/** Largest SPQR chain jump accepted (matches the Double Ratchet's limit). */
export const SPQR_MAX_JUMP = 25_000;
/** Out-of-order SPQR keys kept per chain direction. */
export const SPQR_MAX_OOO_KEYS = 2_000;
/** Key-history size that triggers trimming: `MAX_OOO_KEYS × 11/10 + 1`. */
export const SPQR_HISTORY_TRIM_SIZE: number = Math.floor((SPQR_MAX_OOO_KEYS * 11) / 10) + 1;
/** Chain epochs kept before the current send epoch. */
export const SPQR_EPOCHS_KEPT_BEFORE_SEND = 1;
