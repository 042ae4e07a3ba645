/**
 * SignalMessage codec: round trip, libsignal's byte layout, version nibble handling, truncation
 * and protobuf abuse (each refused as ERR_INVALID_MESSAGE, with the right messageType).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAC_LENGTH } from '../../src/constants.js';
import { PublicKey } from '../../src/index.js';
import {
  attachMac,
  decodeSignalMessage,
  encodeSignalMessageBody,
  type SignalMessageFields,
} from '../../src/wire/index.js';
import { expectSignalErrorSync, fcRuns, onlySignalErrors } from '../support/session-helpers.js';
import {
  bField,
  bytes,
  key,
  SAMPLE_KEY,
  SAMPLE_MAC,
  signalFieldsArb,
  signalMessageBytes,
  signalProto,
  varint,
  vField,
} from './wire-helpers.js';

function encode(fields: SignalMessageFields, mac: Uint8Array = SAMPLE_MAC): Uint8Array {
  return attachMac(encodeSignalMessageBody(fields), mac);
}

const BASE: SignalMessageFields = {
  messageVersion: 4,
  ratchetKey: SAMPLE_KEY,
  counter: 0,
  previousCounter: 0,
  ciphertext: new Uint8Array(16).fill(0xcc),
};

describe('SignalMessage round trip', () => {
  it('decode(encode(fields)) gives the fields back, for any field values', () => {
    fc.assert(
      fc.property(signalFieldsArb, fc.uint8Array({ minLength: 8, maxLength: 8 }), (fields, mac) => {
        const body = encodeSignalMessageBody(fields);
        const whole = attachMac(body, mac);
        const m = decodeSignalMessage(whole);
        expect(m.messageVersion).toBe(fields.messageVersion);
        expect(m.ratchetKey.equals(fields.ratchetKey)).toBe(true);
        expect(m.counter).toBe(fields.counter);
        expect(m.previousCounter).toBe(fields.previousCounter);
        expect(m.ciphertext).toEqual(fields.ciphertext);
        expect(m.pqRatchet).toEqual(fields.pqRatchet);
        expect(m.addresses).toEqual(fields.addresses);
        expect(m.macInput).toEqual(body);
        expect(m.mac).toEqual(mac);
        expect(m.serialized).toEqual(whole);
        // Re-encoding the parsed fields is byte-identical.
        expect(attachMac(encodeSignalMessageBody(m), m.mac)).toEqual(whole);
      }),
      fcRuns(400),
    );
  });

  it('the parsed message does not alias the caller’s buffer', () => {
    const whole = encode(BASE);
    const m = decodeSignalMessage(whole);
    const ciphertext = m.ciphertext.slice();
    whole.fill(0);
    expect(m.ciphertext).toEqual(ciphertext);
    expect(m.serialized[0]).toBe(0x44);
  });

  it('decodes a message that sits at an offset inside a larger buffer', () => {
    const whole = encode({ ...BASE, counter: 7 });
    const big = new Uint8Array(whole.length + 20);
    big.set(whole, 10);
    const m = decodeSignalMessage(big.subarray(10, 10 + whole.length));
    expect(m.counter).toBe(7);
    expect(m.serialized).toEqual(whole);
  });
});

describe('SignalMessage byte layout (libsignal / prost)', () => {
  it('is version 0x44 ‖ fields 1,2,3,4 in tag order ‖ MAC, with counter 0 still written', () => {
    const ciphertext = new Uint8Array(32).fill(0xab);
    const whole = encode({ ...BASE, counter: 0, previousCounter: 0, ciphertext });
    const expected = bytes(
      [0x44],
      bField(1, SAMPLE_KEY.serialize()),
      [0x10, 0x00], // field 2 (counter) = 0, written although it is the default
      [0x18, 0x00], // field 3 (previous counter) = 0
      bField(4, ciphertext),
      SAMPLE_MAC,
    );
    expect(whole).toEqual(expected);
    expect(whole[0]).toBe(0x44);
  });

  it('writes no field 5 when pqRatchet is empty or absent, and fields 5 then 6 when present', () => {
    const withoutPq = encode(BASE);
    expect(encode({ ...BASE, pqRatchet: new Uint8Array(0) })).toEqual(withoutPq);
    expect(encode({ ...BASE, pqRatchet: undefined })).toEqual(withoutPq);
    expect(withoutPq.includes(0x2a)).toBe(false); // 0x2a = key of field 5, wire type 2

    const pq = Uint8Array.from([1, 1, 0, 0]);
    const addresses = new Uint8Array(36).fill(7);
    const full = encode({ ...BASE, counter: 300, previousCounter: 129, pqRatchet: pq, addresses });
    expect(full).toEqual(
      bytes(
        [0x44],
        bField(1, SAMPLE_KEY.serialize()),
        vField(2, 300),
        vField(3, 129),
        bField(4, BASE.ciphertext),
        bField(5, pq),
        bField(6, addresses),
        SAMPLE_MAC,
      ),
    );
  });

  it('writes the message version in the high nibble and 4 (current) in the low nibble', () => {
    expect(encode({ ...BASE, messageVersion: 3 })[0]).toBe(0x34);
    expect(encode({ ...BASE, messageVersion: 4 })[0]).toBe(0x44);
  });

  it('writes u32 counters as varints up to 2^32-1 and refuses anything else (RangeError)', () => {
    const max = encode({ ...BASE, counter: 0xffff_ffff });
    expect(decodeSignalMessage(max).counter).toBe(0xffff_ffff);
    expect(max.subarray(36, 42)).toEqual(Uint8Array.from([0x10, ...varint(0xffff_ffff)]));
    expect(() => encode({ ...BASE, counter: 2 ** 32 })).toThrow(RangeError);
    expect(() => encode({ ...BASE, counter: -1 })).toThrow(RangeError);
    expect(() => encode({ ...BASE, previousCounter: 1.5 })).toThrow(RangeError);
  });

  it('attachMac requires exactly 8 bytes', () => {
    const body = encodeSignalMessageBody(BASE);
    expect(() => attachMac(body, new Uint8Array(7))).toThrow(RangeError);
    expect(() => attachMac(body, new Uint8Array(9))).toThrow(RangeError);
    expect(attachMac(body, new Uint8Array(MAC_LENGTH)).length).toBe(body.length + MAC_LENGTH);
  });
});

describe('SignalMessage version nibble', () => {
  const proto = signalProto();

  it.each([0, 1, 2])('high nibble %i (legacy) → ERR_UNSUPPORTED_VERSION', (v) => {
    for (const low of [0, 3, 4, 0xf]) {
      const e = expectSignalErrorSync(
        () => decodeSignalMessage(signalMessageBytes(proto, (v << 4) | low)),
        'ERR_UNSUPPORTED_VERSION',
        `legacy message version ${String(v)}`,
      );
      expect(e.version).toBe(v);
    }
  });

  it.each([5, 6, 9, 15])('high nibble %i (future) → ERR_UNSUPPORTED_VERSION', (v) => {
    for (const low of [0, 4, 0xf]) {
      const e = expectSignalErrorSync(
        () => decodeSignalMessage(signalMessageBytes(proto, (v << 4) | low)),
        'ERR_UNSUPPORTED_VERSION',
        `unrecognized message version ${String(v)}`,
      );
      expect(e.version).toBe(v);
    }
  });

  it('versions 3 and 4 parse; the low nibble is ignored by the parser (the MAC covers it)', () => {
    for (const byte of [0x33, 0x34, 0x30, 0x44, 0x40, 0x4f]) {
      const m = decodeSignalMessage(signalMessageBytes(proto, byte));
      expect(m.messageVersion).toBe(byte >> 4);
      expect(m.macInput[0]).toBe(byte);
    }
  });
});

describe('SignalMessage truncation', () => {
  it('anything shorter than version + MAC (9 bytes) → ERR_INVALID_MESSAGE "too short"', () => {
    for (let n = 0; n < 9; n++) {
      const e = expectSignalErrorSync(
        () => decodeSignalMessage(new Uint8Array(n).fill(0x44)),
        'ERR_INVALID_MESSAGE',
        'invalid SignalMessage: too short',
      );
      expect(e.messageType).toBe('whisper');
    }
    // 9 bytes: version ‖ empty protobuf ‖ MAC parses as far as the missing ratchet key.
    expectSignalErrorSync(
      () => decodeSignalMessage(bytes([0x44], SAMPLE_MAC)),
      'ERR_INVALID_MESSAGE',
      'invalid SignalMessage: missing field 1',
    );
  });

  it('every strict prefix of a message without field 5/6 → ERR_INVALID_MESSAGE', () => {
    const whole = encode({ ...BASE, counter: 1234, ciphertext: new Uint8Array(48).fill(9) });
    for (let n = 0; n < whole.length; n++) {
      const e = expectSignalErrorSync(
        () => decodeSignalMessage(whole.subarray(0, n)),
        'ERR_INVALID_MESSAGE',
      );
      expect(e.messageType).toBe('whisper');
    }
  });
});

describe('SignalMessage protobuf abuse → ERR_INVALID_MESSAGE', () => {
  const keyBytes = Array.from(SAMPLE_KEY.serialize());
  const cases: [string, number[], RegExp][] = [
    [
      'overlong varint (11 bytes)',
      signalProto({ counter: [0x10, ...Array(10).fill(0x80), 0x00] }),
      /varint too long/,
    ],
    [
      '10-byte varint above 2^64',
      signalProto({ counter: [0x10, ...Array(9).fill(0xff), 0x02] }),
      /varint overflow/,
    ],
    ['counter = 2^32', signalProto({ counter: vField(2, 2n ** 32n) }), /field 2 out of range/],
    [
      'previous counter = 2^64-1',
      signalProto({ previousCounter: vField(3, 2n ** 64n - 1n) }),
      /field 3 out of range/,
    ],
    [
      'huge length prefix (2^32-1)',
      signalProto({ ciphertext: [0x22, ...varint(0xffff_ffff), 1, 2, 3] }),
      /length past end/,
    ],
    [
      'huge length prefix (2^63)',
      signalProto({ ciphertext: [0x22, ...varint(2n ** 63n), 1, 2, 3] }),
      /length past end/,
    ],
    [
      'length one past the end',
      signalProto({ ciphertext: [0x22, 17, ...Array(16).fill(0xcc)] }),
      /length past end/,
    ],
    ['wire type 3 (start group)', signalProto({}, [...key(7, 3)]), /unsupported wire type/],
    ['wire type 4 (end group)', signalProto({}, [...key(7, 4)]), /unsupported wire type/],
    ['wire type 6', signalProto({}, [...key(7, 6)]), /unsupported wire type/],
    ['wire type 7', signalProto({}, [...key(2, 7), 0]), /unsupported wire type/],
    ['field number 0 (varint)', signalProto({}, [0x00, 0x01]), /invalid field number/],
    ['field number 0 (bytes)', signalProto({}, [0x02, 0x00]), /invalid field number/],
    ['field number 2^29', signalProto({}, [...key(2 ** 29, 0), 1]), /invalid field number/],
    ['repeated counter', signalProto({}, vField(2, 6)), /field 2 repeated/],
    ['repeated previous counter', signalProto({}, vField(3, 6)), /field 3 repeated/],
    ['repeated ratchet key', signalProto({}, bField(1, keyBytes)), /field 1 repeated/],
    ['repeated ciphertext', signalProto({}, bField(4, [1])), /field 4 repeated/],
    [
      'repeated pq field',
      signalProto({}, [...bField(5, [1]), ...bField(5, [1])]),
      /field 5 repeated/,
    ],
    [
      'counter as bytes',
      signalProto({ counter: bField(2, [5]) }),
      /field 2 has the wrong wire type/,
    ],
    [
      'counter as fixed32',
      signalProto({ counter: [...key(2, 5), 5, 0, 0, 0] }),
      /field 2 has the wrong wire type/,
    ],
    [
      'ratchet key as varint',
      signalProto({ ratchetKey: vField(1, 5) }),
      /field 1 has the wrong wire type/,
    ],
    [
      'ciphertext as fixed64',
      signalProto({ ciphertext: [...key(4, 1), 1, 2, 3, 4, 5, 6, 7, 8] }),
      /field 4 has the wrong wire type/,
    ],
    ['pq field as varint', signalProto({}, vField(5, 1)), /field 5 has the wrong wire type/],
    ['addresses as varint', signalProto({}, vField(6, 1)), /field 6 has the wrong wire type/],
    ['truncated fixed32', signalProto({}, [...key(9, 5), 1, 2]), /truncated fixed field/],
    ['truncated varint', signalProto({}, [0x48, 0x80]), /truncated varint/],
    ['missing ratchet key', signalProto({ ratchetKey: null }), /missing field 1/],
    ['missing counter', signalProto({ counter: null }), /missing field 2/],
    ['missing ciphertext', signalProto({ ciphertext: null }), /missing field 4/],
    [
      'ratchet key of 32 bytes',
      signalProto({ ratchetKey: bField(1, keyBytes.slice(1)) }),
      /bad ratchet key/,
    ],
    [
      'ratchet key of 34 bytes (libsignal drops the tail; chiffre refuses)',
      signalProto({ ratchetKey: bField(1, [...keyBytes, 0]) }),
      /bad ratchet key/,
    ],
    [
      'ratchet key with type byte 0x06',
      signalProto({ ratchetKey: bField(1, [6, ...keyBytes.slice(1)]) }),
      /bad ratchet key/,
    ],
    ['empty ratchet key', signalProto({ ratchetKey: bField(1, []) }), /bad ratchet key/],
  ];

  it.each(cases)('%s', (_name, proto, reason) => {
    const e = expectSignalErrorSync(
      () => decodeSignalMessage(signalMessageBytes(proto)),
      'ERR_INVALID_MESSAGE',
      reason,
    );
    expect(e.message).toMatch(/^invalid SignalMessage: /);
    expect(e.messageType).toBe('whisper');
  });

  it('unknown fields are skipped (they stay covered by the MAC input)', () => {
    const extra = [
      ...vField(9, 1),
      ...bField(7, [1, 2, 3]),
      ...key(12, 5),
      1,
      2,
      3,
      4,
      ...key(13, 1),
      ...Array(8).fill(0),
    ];
    const whole = signalMessageBytes(signalProto({}, extra));
    const m = decodeSignalMessage(whole);
    expect(m.counter).toBe(5);
    expect(m.macInput).toEqual(whole.subarray(0, whole.length - 8));
  });

  it('fields in any order parse; an empty field 5 counts as absent', () => {
    const proto = [
      ...bField(4, [1, 2, 3]),
      ...bField(5, []),
      ...vField(2, 9),
      ...bField(1, SAMPLE_KEY.serialize()),
    ];
    const m = decodeSignalMessage(signalMessageBytes(proto));
    expect(m.counter).toBe(9);
    expect(m.previousCounter).toBe(0);
    expect(m.pqRatchet).toBeUndefined();
    expect(m.ratchetKey.equals(SAMPLE_KEY)).toBe(true);
  });

  it('misuse (not a Uint8Array) is a TypeError, not a SignalError', () => {
    expect(() => decodeSignalMessage([0x44] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => decodeSignalMessage('44' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('a public key built from raw bytes round-trips through the ratchet-key field', () => {
    const raw = new Uint8Array(32).map((_, i) => i);
    const m = decodeSignalMessage(encode({ ...BASE, ratchetKey: PublicKey.fromRaw(raw) }));
    expect(m.ratchetKey.getPublicKeyBytes()).toEqual(raw);
  });

  it('random protobuf field soup only ever succeeds or throws a SignalError', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 120 }), (soup) => {
        onlySignalErrors(() => decodeSignalMessage(signalMessageBytes(signalProto({}, soup))));
      }),
      fcRuns(1500),
    );
  });
});
