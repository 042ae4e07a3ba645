/**
 * The Double Ratchet's key derivations, exactly as libsignal computes them (`ratchet/keys.rs`):
 *
 * - root step: `HKDF(salt = root key, ikm = DH output, info = "WhisperRatchet", 64)` → new root
 *   key ‖ new chain key;
 * - chain step: message seed = `HMAC(chain key, 0x01)`, next chain key = `HMAC(chain key, 0x02)`;
 * - message keys: `HKDF(salt = S, ikm = seed, info = "WhisperMessageKeys", 80)` → cipher key
 *   (32) ‖ MAC key (32) ‖ IV (16), where S is SPQR's per-message key or none.
 *
 * @module
 */
import {
  CHAIN_KEY_MESSAGE_SEED,
  CHAIN_KEY_NEXT,
  KDF_INFO_MESSAGE_KEYS,
  KDF_INFO_ROOT,
  MESSAGE_KEYS_LENGTH,
} from '../constants.js';
import { assertBytes, HmacSha256Key, hkdfSha256, hmacSha256, wipe } from '../primitives/index.js';

/** Per-message keys. */
export interface MessageKeys {
  /** AES-256 key. */
  readonly cipherKey: Uint8Array;
  /** HMAC-SHA256 key for the 8-byte MAC. */
  readonly macKey: Uint8Array;
  /** AES-CBC IV. */
  readonly iv: Uint8Array;
}

/** Output of a root-key step. */
export interface RootStep {
  /** The new 32-byte root key. */
  readonly rootKey: Uint8Array;
  /** The new 32-byte chain key (index 0). */
  readonly chainKey: Uint8Array;
}

/** `KDF_RK(root key, DH output)`. */
export function deriveRootStep(rootKey: Uint8Array, dhOutput: Uint8Array): RootStep {
  const out = hkdfSha256(dhOutput, rootKey, KDF_INFO_ROOT, 64);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32, 64) };
}

/** The message-key seed for the chain key's current index. */
export function deriveMessageSeed(chainKey: Uint8Array): Uint8Array {
  return hmacSha256(chainKey, CHAIN_KEY_MESSAGE_SEED);
}

/** The next chain key. */
export function deriveNextChainKey(chainKey: Uint8Array): Uint8Array {
  return hmacSha256(chainKey, CHAIN_KEY_NEXT);
}

/** Expand a message-key seed, salted with SPQR's message key when there is one. */
export function deriveMessageKeys(seed: Uint8Array, salt?: Uint8Array): MessageKeys {
  const out = hkdfSha256(seed, salt, KDF_INFO_MESSAGE_KEYS, MESSAGE_KEYS_LENGTH);
  const keys = {
    cipherKey: out.slice(0, 32),
    macKey: out.slice(32, 64),
    iv: out.slice(64, 80),
  };
  wipe(out);
  return keys;
}

/**
 * One step of a chain: the message-key seed for the chain key's index and the next chain key,
 * as {@link deriveMessageSeed} and {@link deriveNextChainKey} give them, with the HMAC key
 * prepared once for both.
 */
export function deriveChainStep(chainKey: Uint8Array): {
  /** The message-key seed for the current index. */
  readonly seed: Uint8Array;
  /** The next chain key. */
  readonly next: Uint8Array;
} {
  assertBytes(chainKey, 'chainKey');
  const k = new HmacSha256Key(chainKey);
  const seed = k.mac(CHAIN_KEY_MESSAGE_SEED);
  const next = k.mac(CHAIN_KEY_NEXT);
  k.wipe();
  return { seed, next };
}
