import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  DuplicateMessageError,
  InvalidKeyError,
  InvalidMessageError,
  InvalidRecordError,
  InvalidSignatureError,
  isSignalError,
  MessageGapTooLargeError,
  MissingPreKeyError,
  SessionNotFoundError,
  SignalError,
  type SignalErrorCode,
  StorageError,
  UnsupportedVersionError,
  UntrustedIdentityError,
} from '../../src/errors.js';
import * as publicApi from '../../src/index.js';

interface Case {
  cls: { code: SignalErrorCode; name: string };
  code: SignalErrorCode;
  make: () => SignalError;
  message: string;
  fields: Record<string, unknown>;
}

const cause = new Error('adapter exploded: 0123456789abcdef0123456789abcdef');

const CASES: Case[] = [
  {
    cls: InvalidKeyError,
    code: 'ERR_INVALID_KEY',
    make: () => new InvalidKeyError('bad key', 'kem-public'),
    message: 'bad key',
    fields: { keyType: 'kem-public' },
  },
  {
    cls: InvalidSignatureError,
    code: 'ERR_INVALID_SIGNATURE',
    make: () => new InvalidSignatureError('signature did not verify'),
    message: 'signature did not verify',
    fields: {},
  },
  {
    cls: InvalidMessageError,
    code: 'ERR_INVALID_MESSAGE',
    make: () => new InvalidMessageError('decryption failed', 'whisper'),
    message: 'decryption failed',
    fields: { messageType: 'whisper' },
  },
  {
    cls: UnsupportedVersionError,
    code: 'ERR_UNSUPPORTED_VERSION',
    make: () => new UnsupportedVersionError('unrecognized version 5', 5),
    message: 'unrecognized version 5',
    fields: { version: 5 },
  },
  {
    cls: DuplicateMessageError,
    code: 'ERR_DUPLICATE_MESSAGE',
    make: () => new DuplicateMessageError(7),
    message: 'message with old counter 7',
    fields: { counter: 7 },
  },
  {
    cls: MessageGapTooLargeError,
    code: 'ERR_MESSAGE_GAP_TOO_LARGE',
    make: () => new MessageGapTooLargeError(25_001, 25_000),
    message: 'message too far into the future: gap 25001 exceeds 25000',
    fields: { gap: 25_001, limit: 25_000 },
  },
  {
    cls: SessionNotFoundError,
    code: 'ERR_SESSION_NOT_FOUND',
    make: () => new SessionNotFoundError('alice.1', 'encrypt'),
    message: 'no usable session for alice.1 (encrypt)',
    fields: { address: 'alice.1', operation: 'encrypt' },
  },
  {
    cls: UntrustedIdentityError,
    code: 'ERR_UNTRUSTED_IDENTITY',
    make: () => new UntrustedIdentityError('bob.2'),
    message: 'untrusted identity for bob.2',
    fields: { address: 'bob.2' },
  },
  {
    cls: MissingPreKeyError,
    code: 'ERR_MISSING_PREKEY',
    make: () => new MissingPreKeyError('kyber', 51),
    message: 'missing kyber prekey 51',
    fields: { kind: 'kyber', id: 51 },
  },
  {
    cls: InvalidRecordError,
    code: 'ERR_INVALID_RECORD',
    make: () => new InvalidRecordError('truncated'),
    message: 'invalid record: truncated',
    fields: { reason: 'truncated' },
  },
  {
    cls: StorageError,
    code: 'ERR_STORAGE',
    make: () => new StorageError('loadSession', { cause }),
    message: 'storage operation failed: loadSession',
    fields: { operation: 'loadSession', cause },
  },
];

const ALL_CODES = CASES.map((c) => c.code);

describe.each(CASES)('$code', ({ cls, code, make, message, fields }) => {
  const e = make();

  it('has a stable code, static and on the instance', () => {
    expect(cls.code).toBe(code);
    expect(e.code).toBe(code);
    expect(e).toMatchObject({ code, message });
  });

  it('is named after its class and is a SignalError and an Error', () => {
    expect(e.name).toBe(cls.name);
    expect(e).toBeInstanceOf(cls as unknown as typeof SignalError);
    expect(e).toBeInstanceOf(SignalError);
    expect(e).toBeInstanceOf(Error);
    expect(String(e)).toBe(`${cls.name}: ${message}`);
    expect(typeof e.stack).toBe('string');
  });

  it('carries its public fields', () => {
    expect(e).toMatchObject(fields);
  });

  it('isSignalError discriminates by code', () => {
    expect(isSignalError(e)).toBe(true);
    expect(isSignalError(e, code)).toBe(true);
    for (const other of ALL_CODES.filter((c) => c !== code)) {
      expect(isSignalError(e, other)).toBe(false);
    }
  });

  it('is exported from the public entry point', () => {
    expect((publicApi as Record<string, unknown>)[cls.name]).toBe(cls);
  });
});

describe('codes', () => {
  it('are distinct and ERR_-prefixed', () => {
    expect(new Set(ALL_CODES).size).toBe(ALL_CODES.length);
    for (const c of ALL_CODES) expect(c).toMatch(/^ERR_[A-Z_]+$/);
  });
});

describe('isSignalError', () => {
  it('rejects non-chiffre values, including look-alikes', () => {
    for (const v of [
      undefined,
      null,
      0,
      'ERR_INVALID_KEY',
      new Error('x'),
      new TypeError('x'),
      { code: 'ERR_INVALID_KEY', name: 'InvalidKeyError', message: 'x' },
      Object.assign(new Error('x'), { code: 'ERR_INVALID_KEY' }),
    ]) {
      expect(isSignalError(v)).toBe(false);
      expect(isSignalError(v, 'ERR_INVALID_KEY')).toBe(false);
    }
  });

  it('recognises the shared brand (another copy of the package, ESM/CJS)', () => {
    const foreign = Object.defineProperty(
      { code: 'ERR_STORAGE', message: 'x' },
      Symbol.for('chiffre.SignalError'),
      { value: true },
    );
    expect(isSignalError(foreign)).toBe(true);
    expect(isSignalError(foreign, 'ERR_STORAGE')).toBe(true);
    expect(isSignalError(foreign, 'ERR_INVALID_KEY')).toBe(false);
  });

  it('narrows the type', () => {
    const e: unknown = new MissingPreKeyError('signed', 41);
    if (isSignalError(e, 'ERR_MISSING_PREKEY')) {
      expect(e.kind).toBe('signed');
      expect(e.id).toBe(41);
    } else {
      expect.unreachable();
    }
  });
});

describe('cause and rendering', () => {
  it('keeps the cause out of the message, and the brand out of enumerable keys', () => {
    const e = new StorageError('storeSession', { cause });
    expect(e.cause).toBe(cause);
    expect(e.message).not.toContain('exploded');
    expect(Object.keys(e)).not.toContain('cause');
    expect(
      Object.getOwnPropertySymbols(e).every(
        (s) => !Object.prototype.propertyIsEnumerable.call(e, s),
      ),
    ).toBe(true);
    expect(JSON.stringify(e)).not.toContain('exploded');
  });

  it('has no cause property when none is given', () => {
    const e = new InvalidKeyError('bad key');
    expect('cause' in e).toBe(false);
    expect(e.keyType).toBeUndefined();
  });

  it('renders with util.inspect using its class name', () => {
    expect(inspect(new DuplicateMessageError(3))).toContain('DuplicateMessageError');
  });
});
