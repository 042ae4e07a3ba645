/**
 * The session cipher as pure functions over records: build and open SignalMessages
 * (AES-256-CBC body, 8-byte MAC over both identity keys, field 6 check), wrap messages in a
 * PreKeySignalMessage while the session is unacknowledged, and pick the session state a message
 * belongs to (current first, then archived, promoting the one that works).
 *
 * Nothing here touches a store; every function returns new records and leaves its inputs alone.
 *
 * @module
 */
import { MAC_LENGTH, MAX_COUNTER } from '../constants.js';
import {
  InvalidMessageError,
  InvalidRecordError,
  isSignalError,
  type MessageKind,
  SessionNotFoundError,
  UnsupportedVersionError,
} from '../errors.js';
import { type KeyPair, type ProtocolAddress, publicKeyBytes } from '../keys/index.js';
import {
  aes256CbcDecrypt,
  aes256CbcEncrypt,
  equalConstantTime,
  hmacSha256Parts,
  type RandomSource,
  wipe,
} from '../primitives/index.js';
import {
  deriveMessageKeys,
  ratchetReceiveStep,
  ratchetSendStep,
  type SessionState,
} from '../ratchet/index.js';
import {
  SpqrError,
  type SpqrRecvResult,
  type SpqrSendResult,
  spqrRecv,
  spqrSend,
} from '../spqr/index.js';
import { archivedStateAt, type SessionRecord } from '../state/index.js';
import {
  attachMac,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
  type SignalMessage,
} from '../wire/index.js';
import { encodeAddresses } from './addresses.js';

/**
 * An encrypted message, tagged with how the receiver must treat it. Send `type` along with
 * `body`: the receiver passes both back to `decrypt`.
 */
export type CiphertextMessage =
  | {
      /** A PreKeySignalMessage: the session is not yet acknowledged by the peer. */
      readonly type: 'prekey';
      /** The serialized PreKeySignalMessage. */
      readonly body: Uint8Array;
    }
  | {
      /** A SignalMessage on an established session. */
      readonly type: 'whisper';
      /** The serialized SignalMessage. */
      readonly body: Uint8Array;
    };

/** Who is talking to whom, and the environment of one operation. */
export interface CipherContext {
  /** This device's address (bound into PreKeySignalMessages). */
  readonly localAddress: ProtocolAddress;
  /** The peer's address (bound into PreKeySignalMessages, named in errors). */
  readonly remoteAddress: ProtocolAddress;
  /** Current time in seconds since the epoch. */
  readonly nowSeconds: number;
  /** The randomness source for ratchet keys and SPQR. */
  readonly random: RandomSource;
  /** A fresh key pair for a DH ratchet step, if the caller prepared one (otherwise generated). */
  readonly nextRatchetKeyPair?: KeyPair | undefined;
}

const EMPTY = new Uint8Array(0);
/** The message of every SPQR failure, as libsignal words it. */
export const SPQR_FAILURE = 'post-quantum ratchet error';

function computeMac(
  macKey: Uint8Array,
  senderIdentity: Uint8Array,
  receiverIdentity: Uint8Array,
  macInput: Uint8Array,
): Uint8Array {
  return hmacSha256Parts(macKey, senderIdentity, receiverIdentity, macInput).subarray(
    0,
    MAC_LENGTH,
  );
}

/** Result of {@link encryptWithRecord}. */
export interface EncryptResult {
  /** The new record, with the sending chain advanced. The caller persists it. */
  readonly record: SessionRecord;
  /** The encrypted message to send. */
  readonly message: CiphertextMessage;
}

/**
 * Encrypt with the record's current state. While the state is unacknowledged the result is a
 * PreKeySignalMessage (`type: 'prekey'`), otherwise a SignalMessage (`type: 'whisper'`).
 *
 * @param record - the peer's session record; left unchanged
 * @param plaintext - the bytes to encrypt
 * @param ctx - addresses, clock and randomness
 * @returns the new record and the message
 * @throws {SessionNotFoundError} `ERR_SESSION_NOT_FOUND` without a usable current state (none, or
 *   unacknowledged for more than 30 days), or when the sending chain is exhausted
 */
export function encryptWithRecord(
  record: SessionRecord,
  plaintext: Uint8Array,
  ctx: CipherContext,
): EncryptResult {
  const state = record.currentState;
  if (state === undefined || !record.hasUsableCurrentState(ctx.nowSeconds)) {
    throw new SessionNotFoundError(ctx.remoteAddress.toString(), 'encrypt');
  }
  if (state.senderChain.chainKey.index >= MAX_COUNTER) {
    // 2^32 − 1 messages on one chain: the counter cannot go further; a new session is needed.
    throw new SessionNotFoundError(
      ctx.remoteAddress.toString(),
      'encrypt: sending chain exhausted',
    );
  }
  const step = ratchetSendStep(state);
  let pq: SpqrSendResult;
  try {
    pq = spqrSend(state.pqRatchet, ctx.random);
  } catch (e) {
    // Sending reads no peer input: an SPQR failure here means the stored state is inconsistent.
    if (e instanceof SpqrError)
      throw new InvalidRecordError('session: inconsistent SPQR state', { cause: e });
    throw e;
  }
  const keys = deriveMessageKeys(step.seed, pq.key);
  const pending = state.pendingPreKey;
  const body = encodeSignalMessageBody({
    messageVersion: state.version,
    ratchetKey: step.ratchetKey,
    counter: step.counter,
    previousCounter: step.previousCounter,
    ciphertext: aes256CbcEncrypt(keys.cipherKey, keys.iv, plaintext),
    pqRatchet: pq.message,
    // libsignal (0.91+) binds the addresses in PreKeySignalMessages only.
    addresses:
      pending === undefined ? undefined : encodeAddresses(ctx.localAddress, ctx.remoteAddress),
  });
  const mac = computeMac(
    keys.macKey,
    publicKeyBytes(state.localIdentityKey),
    publicKeyBytes(state.remoteIdentityKey),
    body,
  );
  const signalMessage = attachMac(body, mac);
  wipe(keys.cipherKey, keys.macKey, keys.iv, step.seed);
  const next = record.withCurrentState({ ...step.state, pqRatchet: pq.state });
  if (pending === undefined) {
    return { record: next, message: { type: 'whisper', body: signalMessage } };
  }
  const prekey = encodePreKeySignalMessage({
    messageVersion: state.version,
    registrationId: state.localRegistrationId,
    preKeyId: pending.preKeyId,
    signedPreKeyId: pending.signedPreKeyId,
    kyberPreKeyId: pending.kyberPreKeyId,
    kyberCiphertext: pending.kyberCiphertext,
    baseKey: pending.baseKey,
    identityKey: state.localIdentityKey,
    message: signalMessage,
  });
  return { record: next, message: { type: 'prekey', body: prekey } };
}

/** Result of {@link decryptWithState}. */
export interface StateDecryptResult {
  /** The new state, with the message's key consumed and the pending prekey data cleared. */
  readonly state: SessionState;
  /** The decrypted bytes. */
  readonly plaintext: Uint8Array;
}

/**
 * Decrypt a SignalMessage with one state. On success the returned state has the message's key
 * consumed and the pending prekey data cleared.
 *
 * @param state - the state to try; left unchanged
 * @param message - the decoded SignalMessage
 * @param ctx - addresses, clock and randomness
 * @param kind - the message kind errors report (`'whisper'` or `'prekey'`)
 * @returns the new state and the plaintext
 * @throws {UnsupportedVersionError} `ERR_UNSUPPORTED_VERSION` when the message version is not the
 *   state's
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` ('decryption failed') for any
 *   authentication failure
 * @throws {DuplicateMessageError} `ERR_DUPLICATE_MESSAGE`
 * @throws {MessageGapTooLargeError} `ERR_MESSAGE_GAP_TOO_LARGE`
 */
export function decryptWithState(
  state: SessionState,
  message: SignalMessage,
  ctx: CipherContext,
  kind: MessageKind,
): StateDecryptResult {
  if (message.messageVersion !== state.version) {
    throw new UnsupportedVersionError(
      `message version ${String(message.messageVersion)} does not match the session`,
      message.messageVersion,
    );
  }
  const step = ratchetReceiveStep(state, message.ratchetKey, message.counter, {
    random: ctx.random,
    newRatchetKeyPair: ctx.nextRatchetKeyPair,
  });
  let pq: SpqrRecvResult;
  try {
    pq = spqrRecv(state.pqRatchet, message.pqRatchet ?? EMPTY);
  } catch (e) {
    if (e instanceof SpqrError) {
      // These two can only come from the stored state, never from the message.
      if (e.reason === 'chain-unavailable' || e.reason === 'send-epoch-decreased') {
        throw new InvalidRecordError('session: inconsistent SPQR state', { cause: e });
      }
      throw new InvalidMessageError(SPQR_FAILURE, kind, { cause: e });
    }
    throw e;
  }
  // The seed and pq.key belong to this call alone (the chains hand out fresh keys or copies of
  // kept ones), so both are wiped with the message keys.
  const keys = deriveMessageKeys(step.seed, pq.key);
  try {
    const expected = computeMac(
      keys.macKey,
      publicKeyBytes(state.remoteIdentityKey),
      publicKeyBytes(state.localIdentityKey),
      message.macInput,
    );
    if (!equalConstantTime(expected, message.mac)) {
      throw new InvalidMessageError('decryption failed', kind);
    }
    if (message.addresses !== undefined) {
      const binding = encodeAddresses(ctx.remoteAddress, ctx.localAddress);
      if (binding === undefined || !equalConstantTime(binding, message.addresses)) {
        throw new InvalidMessageError('decryption failed', kind);
      }
    }
    const plaintext = aes256CbcDecrypt(keys.cipherKey, keys.iv, message.ciphertext);
    if (plaintext === null) throw new InvalidMessageError('decryption failed', kind);
    return { state: { ...step.state, pqRatchet: pq.state, pendingPreKey: undefined }, plaintext };
  } finally {
    wipe(keys.cipherKey, keys.macKey, keys.iv, step.seed);
    if (pq.key !== undefined) wipe(pq.key);
  }
}

/** Result of {@link decryptWithRecord}. */
export interface RecordDecryptResult {
  /** The new record; the state that decrypted is current in it. The caller persists it. */
  readonly record: SessionRecord;
  /** The decrypted bytes. */
  readonly plaintext: Uint8Array;
  /** The state that decrypted the message (now current in `record`). */
  readonly state: SessionState;
}

/**
 * Decrypt a SignalMessage with the record: the current state first, then archived states
 * newest first; the state that succeeds becomes current. A duplicate stops the search at once.
 *
 * @param record - the peer's session record; left unchanged
 * @param message - the decoded SignalMessage
 * @param ctx - addresses, clock and randomness
 * @returns the new record, the plaintext and the state that decrypted
 * @throws {SessionNotFoundError} `ERR_SESSION_NOT_FOUND` when the record has no state at all
 * @throws {DuplicateMessageError} `ERR_DUPLICATE_MESSAGE`
 * @throws {MessageGapTooLargeError} `ERR_MESSAGE_GAP_TOO_LARGE` when the current state refused
 *   the jump and no other state decrypted
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` when no state decrypts
 */
export function decryptWithRecord(
  record: SessionRecord,
  message: SignalMessage,
  ctx: CipherContext,
): RecordDecryptResult {
  const current = record.currentState;
  if (current === undefined && record.previousStateCount === 0) {
    throw new SessionNotFoundError(ctx.remoteAddress.toString(), 'decrypt');
  }
  let firstError: unknown;
  const attempt = (state: SessionState): StateDecryptResult | undefined => {
    try {
      return decryptWithState(state, message, ctx, 'whisper');
    } catch (e) {
      if (isSignalError(e, 'ERR_DUPLICATE_MESSAGE')) throw e;
      if (!isSignalError(e)) throw e;
      firstError ??= e;
      return undefined;
    }
  };
  if (current !== undefined) {
    const r = attempt(current);
    if (r !== undefined) {
      return { record: record.withCurrentState(r.state), plaintext: r.plaintext, state: r.state };
    }
  }
  // Archived states are decoded one at a time, as needed; a malformed one does not keep the
  // others from being tried, and is reported only when none of them decrypts.
  let malformed: InvalidRecordError | undefined;
  for (let i = 0; i < record.previousStateCount; i++) {
    const state = archivedStateAt(record, i);
    if (state instanceof InvalidRecordError) {
      malformed ??= state;
      continue;
    }
    const r = attempt(state);
    if (r !== undefined) {
      return {
        record: record.promoteArchivedState(i, r.state),
        plaintext: r.plaintext,
        state: r.state,
      };
    }
  }
  // A specific cause from the current state (a refused jump, an SPQR failure) is more useful
  // than the generic failure; authentication failures all stay 'decryption failed'.
  if (isSignalError(firstError, 'ERR_MESSAGE_GAP_TOO_LARGE')) throw firstError;
  if (isSignalError(firstError, 'ERR_INVALID_MESSAGE') && firstError.message === SPQR_FAILURE) {
    throw firstError;
  }
  // The message may have been for the state that cannot be read: say that the record is damaged.
  if (malformed !== undefined) throw malformed;
  throw new InvalidMessageError('decryption failed', 'whisper');
}
