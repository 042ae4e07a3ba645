/**
 * Typed errors of chiffre. Every error the library throws on purpose is a {@link SignalError} with a
 * stable string `code`; programmer misuse (a wrong argument type or length) is a plain `TypeError`
 * or `RangeError`.
 *
 * Messages are constant text plus counters, lengths, versions, ids and addresses. They never carry
 * key bytes, plaintext, or the raw text of a dependency's error.
 *
 * Use {@link isSignalError} rather than `instanceof` when an error may cross the ESM/CJS boundary:
 * the guard checks a `Symbol.for` brand, which both builds share.
 *
 * @module
 */

/** Every stable error code chiffre throws. */
export type SignalErrorCode =
  | 'ERR_INVALID_KEY'
  | 'ERR_INVALID_SIGNATURE'
  | 'ERR_INVALID_MESSAGE'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_DUPLICATE_MESSAGE'
  | 'ERR_MESSAGE_GAP_TOO_LARGE'
  | 'ERR_SESSION_NOT_FOUND'
  | 'ERR_UNTRUSTED_IDENTITY'
  | 'ERR_MISSING_PREKEY'
  | 'ERR_INVALID_RECORD'
  | 'ERR_STORAGE'
  | 'ERR_CONCURRENT_MODIFICATION';

const BRAND: unique symbol = Symbol.for('chiffre.SignalError') as never;

/**
 * What an application usually does about an error (see `SessionRecovery`):
 * - `drop-duplicate`: the message was already decrypted; ignore it;
 * - `request-resend`: this message cannot be decrypted (tampered, or keys already gone); ask the
 *   sender to send it again;
 * - `reset-session`: the session cannot continue; archive it, fetch a fresh bundle and tell the
 *   peer;
 * - `refetch-bundle`: there is no usable session or the bundle was bad; fetch a fresh bundle;
 * - `confirm-identity`: the peer's identity key changed; ask the user to confirm the new safety
 *   number before trusting it.
 */
export type SuggestedAction =
  'drop-duplicate' | 'request-resend' | 'reset-session' | 'refetch-bundle' | 'confirm-identity';

/** Options shared by every error constructor. */
export interface SignalErrorOptions {
  /** The underlying error, when one exists. Never rendered into `message`. */
  readonly cause?: unknown;
}

/**
 * Base class of every chiffre error.
 *
 * @example
 * ```ts
 * import { isSignalError } from 'chiffre/errors';
 * try {
 *   await session.decrypt(address, message);
 * } catch (e) {
 *   if (isSignalError(e, 'ERR_DUPLICATE_MESSAGE')) {
 *     // drop it
 *   } else throw e;
 * }
 * ```
 */
export class SignalError extends Error {
  /** The stable code of this error. */
  readonly code: SignalErrorCode;
  /** What an application usually does about it; `undefined` when it is not a protocol matter. */
  readonly suggestedAction: SuggestedAction | undefined;

  constructor(
    message: string,
    code: SignalErrorCode,
    options?: SignalErrorOptions,
    suggestedAction?: SuggestedAction,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.suggestedAction = suggestedAction;
    this.name = new.target.name;
    // The brand {@link isSignalError} checks; non-enumerable so it never shows in renderings.
    Object.defineProperty(this, BRAND, { value: true });
    const capture = (Error as unknown as { captureStackTrace?: (t: object, c: unknown) => void })
      .captureStackTrace;
    if (typeof capture === 'function') capture(this, new.target);
  }
}

/** Kind of key a {@link InvalidKeyError} is about. */
export type KeyKind = 'curve25519-public' | 'curve25519-private' | 'kem-public' | 'kem-secret';

/** A key had the wrong type byte or length, or was a low-order point. */
export class InvalidKeyError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_INVALID_KEY' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_INVALID_KEY' as const;
  /** What kind of key was rejected, when known. */
  readonly keyType: KeyKind | undefined;
  constructor(message: string, keyType?: KeyKind, options?: SignalErrorOptions) {
    super(message, 'ERR_INVALID_KEY', options, 'refetch-bundle');
    this.keyType = keyType;
  }
}

/** An XEdDSA signature (signed prekey, Kyber prekey) did not verify. */
export class InvalidSignatureError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_INVALID_SIGNATURE' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_INVALID_SIGNATURE' as const;
  constructor(message: string, options?: SignalErrorOptions) {
    super(message, 'ERR_INVALID_SIGNATURE', options, 'refetch-bundle');
  }
}

/** Which kind of input an {@link InvalidMessageError} was raised for. */
export type MessageKind = 'whisper' | 'prekey' | 'kem-ciphertext' | 'bundle' | 'fingerprint';

/**
 * Malformed wire bytes, or any authentication failure. MAC mismatch, bad padding and a body that
 * does not decrypt all produce the same message (`'decryption failed'`), on purpose.
 */
export class InvalidMessageError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_INVALID_MESSAGE' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_INVALID_MESSAGE' as const;
  /** The kind of message that was rejected. */
  readonly messageType: MessageKind;
  constructor(message: string, messageType: MessageKind, options?: SignalErrorOptions) {
    super(
      message,
      'ERR_INVALID_MESSAGE',
      options,
      messageType === 'bundle'
        ? 'refetch-bundle'
        : messageType === 'fingerprint'
          ? undefined
          : 'request-resend',
    );
    this.messageType = messageType;
  }
}

/** A message carried a legacy or future version byte. */
export class UnsupportedVersionError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_UNSUPPORTED_VERSION' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_UNSUPPORTED_VERSION' as const;
  /** The version found in the input. */
  readonly version: number;
  constructor(message: string, version: number, options?: SignalErrorOptions) {
    super(message, 'ERR_UNSUPPORTED_VERSION', options, 'request-resend');
    this.version = version;
  }
}

/** A message whose counter was already used (a replay or a duplicate delivery). */
export class DuplicateMessageError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_DUPLICATE_MESSAGE' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_DUPLICATE_MESSAGE' as const;
  /** The counter of the duplicated message. */
  readonly counter: number;
  constructor(counter: number, options?: SignalErrorOptions) {
    super(
      `message with old counter ${String(counter)}`,
      'ERR_DUPLICATE_MESSAGE',
      options,
      'drop-duplicate',
    );
    this.counter = counter;
  }
}

/** A message jumped further ahead in its chain than the forward-jump limit allows. */
export class MessageGapTooLargeError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_MESSAGE_GAP_TOO_LARGE' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_MESSAGE_GAP_TOO_LARGE' as const;
  /** How far ahead the message was. */
  readonly gap: number;
  /** The limit in force. */
  readonly limit: number;
  constructor(gap: number, limit: number, options?: SignalErrorOptions) {
    super(
      `message too far into the future: gap ${String(gap)} exceeds ${String(limit)}`,
      'ERR_MESSAGE_GAP_TOO_LARGE',
      options,
      'reset-session',
    );
    this.gap = gap;
    this.limit = limit;
  }
}

/** No usable session exists for the address (or the unacknowledged one expired). */
export class SessionNotFoundError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_SESSION_NOT_FOUND' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_SESSION_NOT_FOUND' as const;
  /** The address in `name.deviceId` form. */
  readonly address: string;
  /** The operation that needed the session. */
  readonly operation: string;
  constructor(address: string, operation: string, options?: SignalErrorOptions) {
    super(
      `no usable session for ${address} (${operation})`,
      'ERR_SESSION_NOT_FOUND',
      options,
      'refetch-bundle',
    );
    this.address = address;
    this.operation = operation;
  }
}

/** The identity store refused the peer's identity key. */
export class UntrustedIdentityError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_UNTRUSTED_IDENTITY' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_UNTRUSTED_IDENTITY' as const;
  /** The address in `name.deviceId` form. */
  readonly address: string;
  constructor(address: string, options?: SignalErrorOptions) {
    super(
      `untrusted identity for ${address}`,
      'ERR_UNTRUSTED_IDENTITY',
      options,
      'confirm-identity',
    );
    this.address = address;
  }
}

/** Which prekey a {@link MissingPreKeyError} is about. */
export type PreKeyKind = 'one-time' | 'signed' | 'kyber';

/** A prekey referenced by a message is not in the store (unknown or already used). */
export class MissingPreKeyError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_MISSING_PREKEY' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_MISSING_PREKEY' as const;
  /** Which store was asked. */
  readonly kind: PreKeyKind;
  /** The id that was asked for. */
  readonly id: number;
  constructor(kind: PreKeyKind, id: number, options?: SignalErrorOptions) {
    super(`missing ${kind} prekey ${String(id)}`, 'ERR_MISSING_PREKEY', options, 'reset-session');
    this.kind = kind;
    this.id = id;
  }
}

/** A persisted record is corrupt, truncated, or of a format this version cannot read. */
export class InvalidRecordError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_INVALID_RECORD' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_INVALID_RECORD' as const;
  /** A short, secret-free description of what is wrong. */
  readonly reason: string;
  constructor(reason: string, options?: SignalErrorOptions) {
    super(`invalid record: ${reason}`, 'ERR_INVALID_RECORD', options);
    this.reason = reason;
  }
}

/** A storage adapter threw. The adapter's error is kept as `cause`, never in `message`. */
export class StorageError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_STORAGE' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_STORAGE' as const;
  /** The store method that failed. */
  readonly operation: string;
  constructor(operation: string, options?: SignalErrorOptions) {
    super(`storage operation failed: ${operation}`, 'ERR_STORAGE', options);
    this.operation = operation;
  }
}

/**
 * A commit found that a record changed since it was loaded (another process, tab or instance
 * wrote it): nothing was written. {@link SessionManager} retries the operation a few times before
 * surfacing this error.
 */
export class ConcurrencyError extends SignalError {
  /** The stable code of this error class, equal to the instance `code`. */
  static code = 'ERR_CONCURRENT_MODIFICATION' as const;
  /** The stable code of this error. */
  override readonly code = 'ERR_CONCURRENT_MODIFICATION' as const;
  /** What was modified, e.g. `session alice.1`. */
  readonly record: string;
  constructor(record: string, options?: SignalErrorOptions) {
    super(`${record} was modified concurrently`, 'ERR_CONCURRENT_MODIFICATION', options);
    this.record = record;
  }
}

/** Discriminated union of every concrete chiffre error, keyed by `code`. */
export type AnySignalError =
  | InvalidKeyError
  | InvalidSignatureError
  | InvalidMessageError
  | UnsupportedVersionError
  | DuplicateMessageError
  | MessageGapTooLargeError
  | SessionNotFoundError
  | UntrustedIdentityError
  | MissingPreKeyError
  | InvalidRecordError
  | StorageError
  | ConcurrencyError;

/**
 * True when `value` is a chiffre error (optionally with the given `code`). Works across the ESM and
 * CJS builds and across copies of the package, unlike `instanceof`.
 *
 * @param value - anything caught
 * @param code - when given, also require this code
 * @returns whether `value` is a chiffre error (with that code)
 * @example
 * ```ts
 * import { isSignalError } from 'chiffre';
 *
 * try {
 *   await sessions.encrypt(bob, bytes);
 * } catch (e) {
 *   if (isSignalError(e, 'ERR_UNTRUSTED_IDENTITY')) askUserToConfirm(e.address); // e is narrowed
 *   else throw e;
 * }
 * ```
 */
export function isSignalError<C extends SignalErrorCode>(
  value: unknown,
  code?: C,
): value is Extract<
  AnySignalError,
  {
    /** The code the guard was given. */
    code: C;
  }
> {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}
