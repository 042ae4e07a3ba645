/**
 * PreKeySignalMessage codec: round trip, libsignal's byte layout, version nibble, truncation and
 * protobuf abuse (ERR_INVALID_MESSAGE with messageType 'prekey').
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PublicKey } from '../../src/index.js';
import {
  attachMac,
  decodePreKeySignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
  type PreKeySignalMessageFields,
} from '../../src/wire/index.js';
import { expectSignalErrorSync, fcRuns, onlySignalErrors } from '../support/session-helpers.js';
import {
  bField,
  bytes,
  key,
  publicKeyArb,
  SAMPLE_KEY,
  SAMPLE_MAC,
  signalFieldsArb,
  signalMessageBytes,
  signalProto,
  u32,
  varint,
  vField,
} from './wire-helpers.js';

const INNER = signalMessageBytes(signalProto());
const BASE_KEY = PublicKey.fromRaw(new Uint8Array(32).fill(0x11));
const IDENTITY_KEY = PublicKey.fromRaw(new Uint8Array(32).fill(0x22));
const KYBER_CT = Uint8Array.from({ length: 1569 }, (_, i) => (i === 0 ? 0x08 : i & 0xff));

const BASE: PreKeySignalMessageFields = {
  messageVersion: 4,
  registrationId: 1111,
  preKeyId: 31,
  signedPreKeyId: 41,
  kyberPreKeyId: 51,
  kyberCiphertext: KYBER_CT,
  baseKey: BASE_KEY,
  identityKey: IDENTITY_KEY,
  message: INNER,
};

/** The protobuf of {@link BASE} built by hand, with overrides (null = omit) and extra bytes. */
function preKeyProto(
  over: Partial<Record<1 | 2 | 3 | 4 | 5 | 6 | 7 | 8, readonly number[] | null>> = {},
  extra: readonly number[] = [],
): number[] {
  const dflt: Record<number, number[]> = {
    1: vField(1, 31),
    2: bField(2, BASE_KEY.serialize()),
    3: bField(3, IDENTITY_KEY.serialize()),
    4: bField(4, INNER),
    5: vField(5, 1111),
    6: vField(6, 41),
    7: vField(7, 51),
    8: bField(8, KYBER_CT),
  };
  const out: number[] = [];
  for (const f of [1, 2, 3, 4, 5, 6, 7, 8] as const) {
    const o = over[f];
    if (o === null) continue;
    out.push(...(o ?? dflt[f] ?? []));
  }
  out.push(...extra);
  return out;
}

const preKeyBytes = (proto: readonly number[], version = 0x44): Uint8Array =>
  bytes([version], proto);

const preKeyFieldsArb: fc.Arbitrary<PreKeySignalMessageFields> = fc
  .record({
    messageVersion: fc.constantFrom(3, 4),
    registrationId: u32,
    preKeyId: fc.option(u32, { nil: undefined }),
    signedPreKeyId: u32,
    kyber: fc.option(fc.record({ id: u32, ct: fc.uint8Array({ maxLength: 64 }) }), {
      nil: undefined,
    }),
    baseKey: publicKeyArb,
    identityKey: publicKeyArb,
    inner: signalFieldsArb,
    mac: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  })
  .map((r) => {
    // Version 4 requires the Kyber fields.
    const kyber =
      r.messageVersion === 4 && r.kyber === undefined ? { id: 0, ct: new Uint8Array(0) } : r.kyber;
    return {
      messageVersion: r.messageVersion,
      registrationId: r.registrationId,
      preKeyId: r.preKeyId,
      signedPreKeyId: r.signedPreKeyId,
      kyberPreKeyId: kyber?.id,
      kyberCiphertext: kyber?.ct,
      baseKey: r.baseKey,
      identityKey: r.identityKey,
      message: attachMac(encodeSignalMessageBody(r.inner), r.mac),
    };
  });

describe('PreKeySignalMessage round trip', () => {
  it('decode(encode(fields)) gives the fields back, for any field values', () => {
    fc.assert(
      fc.property(preKeyFieldsArb, (fields) => {
        const whole = encodePreKeySignalMessage(fields);
        const m = decodePreKeySignalMessage(whole);
        expect(m.messageVersion).toBe(fields.messageVersion);
        expect(m.registrationId).toBe(fields.registrationId);
        expect(m.preKeyId).toBe(fields.preKeyId);
        expect(m.signedPreKeyId).toBe(fields.signedPreKeyId);
        expect(m.kyberPreKeyId).toBe(fields.kyberPreKeyId);
        expect(m.kyberCiphertext).toEqual(fields.kyberCiphertext);
        expect(m.baseKey.equals(fields.baseKey)).toBe(true);
        expect(m.identityKey.equals(fields.identityKey)).toBe(true);
        expect(m.message).toEqual(fields.message);
        expect(m.signalMessage.serialized).toEqual(fields.message);
        expect(m.serialized).toEqual(whole);
        expect(encodePreKeySignalMessage(m)).toEqual(whole);
      }),
      fcRuns(300),
    );
  });

  it('the parsed message does not alias the caller’s buffer', () => {
    const whole = encodePreKeySignalMessage(BASE);
    const m = decodePreKeySignalMessage(whole);
    whole.fill(0);
    expect(m.kyberCiphertext).toEqual(KYBER_CT);
    expect(m.message).toEqual(INNER);
    expect(m.signalMessage.counter).toBe(5);
  });
});

describe('PreKeySignalMessage byte layout (libsignal / prost)', () => {
  it('is 0x44 ‖ fields 1..8 in tag order, no outer MAC', () => {
    expect(encodePreKeySignalMessage(BASE)).toEqual(preKeyBytes(preKeyProto()));
  });

  it('omits field 1 without a one-time prekey, and writes registration id 0', () => {
    const whole = encodePreKeySignalMessage({ ...BASE, preKeyId: undefined, registrationId: 0 });
    expect(whole).toEqual(preKeyBytes(preKeyProto({ 1: null, 5: vField(5, 0) })));
    expect(whole[1]).toBe(0x12); // field 2 comes first
    const m = decodePreKeySignalMessage(whole);
    expect(m.preKeyId).toBeUndefined();
    expect(m.registrationId).toBe(0);
  });

  it('reads an absent registration id as 0 and a one-time prekey id of 0 as present', () => {
    const m = decodePreKeySignalMessage(preKeyBytes(preKeyProto({ 1: vField(1, 0), 5: null })));
    expect(m.registrationId).toBe(0);
    expect(m.preKeyId).toBe(0);
  });

  it('version 3 parses with both Kyber fields or with neither', () => {
    const neither = decodePreKeySignalMessage(preKeyBytes(preKeyProto({ 7: null, 8: null }), 0x33));
    expect(neither.messageVersion).toBe(3);
    expect(neither.kyberPreKeyId).toBeUndefined();
    expect(neither.kyberCiphertext).toBeUndefined();
    const both = decodePreKeySignalMessage(preKeyBytes(preKeyProto(), 0x33));
    expect(both.kyberPreKeyId).toBe(51);
  });
});

describe('PreKeySignalMessage version nibble', () => {
  const proto = preKeyProto();
  it.each([0, 1, 2])('high nibble %i → ERR_UNSUPPORTED_VERSION (legacy)', (v) => {
    const e = expectSignalErrorSync(
      () => decodePreKeySignalMessage(preKeyBytes(proto, (v << 4) | 4)),
      'ERR_UNSUPPORTED_VERSION',
      `legacy message version ${String(v)}`,
    );
    expect(e.version).toBe(v);
  });
  it.each([5, 7, 15])('high nibble %i → ERR_UNSUPPORTED_VERSION (future)', (v) => {
    const e = expectSignalErrorSync(
      () => decodePreKeySignalMessage(preKeyBytes(proto, (v << 4) | 4)),
      'ERR_UNSUPPORTED_VERSION',
      `unrecognized message version ${String(v)}`,
    );
    expect(e.version).toBe(v);
  });
  it('the low nibble is ignored', () => {
    expect(decodePreKeySignalMessage(preKeyBytes(proto, 0x40)).messageVersion).toBe(4);
    expect(decodePreKeySignalMessage(preKeyBytes(proto, 0x4f)).messageVersion).toBe(4);
  });
  it('an inner SignalMessage with a legacy version → ERR_UNSUPPORTED_VERSION', () => {
    const inner = signalMessageBytes(signalProto(), 0x24);
    expectSignalErrorSync(
      () => decodePreKeySignalMessage(preKeyBytes(preKeyProto({ 4: bField(4, inner) }))),
      'ERR_UNSUPPORTED_VERSION',
      'legacy message version 2',
    );
  });
});

describe('PreKeySignalMessage truncation', () => {
  it('empty input → ERR_INVALID_MESSAGE', () => {
    const e = expectSignalErrorSync(
      () => decodePreKeySignalMessage(new Uint8Array(0)),
      'ERR_INVALID_MESSAGE',
      'invalid PreKeySignalMessage: empty',
    );
    expect(e.messageType).toBe('prekey');
  });

  it('every strict prefix of a version-4 message → ERR_INVALID_MESSAGE', () => {
    const whole = encodePreKeySignalMessage(BASE);
    for (let n = 0; n < whole.length; n++) {
      const e = expectSignalErrorSync(
        () => decodePreKeySignalMessage(whole.subarray(0, n)),
        'ERR_INVALID_MESSAGE',
      );
      expect(e.messageType).toBe('prekey');
    }
  });
});

describe('PreKeySignalMessage protobuf abuse → ERR_INVALID_MESSAGE', () => {
  const k = Array.from(SAMPLE_KEY.serialize());
  const cases: [string, number[], RegExp][] = [
    [
      'overlong varint',
      preKeyProto({ 6: [0x30, ...Array(10).fill(0xff), 0x01] }),
      /varint too long/,
    ],
    ['signed prekey id = 2^32', preKeyProto({ 6: vField(6, 2n ** 32n) }), /field 6 out of range/],
    [
      'huge length prefix on the Kyber ciphertext',
      preKeyProto({ 8: [0x42, ...varint(2n ** 40n), 8, 1] }),
      /length past end/,
    ],
    [
      'huge length prefix on the inner message',
      preKeyProto({ 4: [0x22, ...varint(0xffff_ffff)] }),
      /length past end/,
    ],
    ['wire type 3', preKeyProto({}, [...key(9, 3)]), /unsupported wire type/],
    ['wire type 4', preKeyProto({}, [...key(9, 4)]), /unsupported wire type/],
    ['field number 0', preKeyProto({}, [0x00, 0x00]), /invalid field number/],
    ['repeated signed prekey id', preKeyProto({}, vField(6, 42)), /field 6 repeated/],
    ['repeated one-time prekey id', preKeyProto({}, vField(1, 32)), /field 1 repeated/],
    ['repeated registration id', preKeyProto({}, vField(5, 1)), /field 5 repeated/],
    ['repeated base key', preKeyProto({}, bField(2, k)), /field 2 repeated/],
    ['repeated Kyber ciphertext', preKeyProto({}, bField(8, [8])), /field 8 repeated/],
    [
      'registration id as bytes',
      preKeyProto({ 5: bField(5, [1]) }),
      /field 5 has the wrong wire type/,
    ],
    [
      'signed prekey id as fixed32',
      preKeyProto({ 6: [...key(6, 5), 1, 0, 0, 0] }),
      /field 6 has the wrong wire type/,
    ],
    ['base key as varint', preKeyProto({ 2: vField(2, 1) }), /field 2 has the wrong wire type/],
    [
      'inner message as varint',
      preKeyProto({ 4: vField(4, 1) }),
      /field 4 has the wrong wire type/,
    ],
    [
      'Kyber ciphertext as varint',
      preKeyProto({ 8: vField(8, 1) }),
      /field 8 has the wrong wire type/,
    ],
    ['missing base key', preKeyProto({ 2: null }), /missing field 2/],
    ['missing identity key', preKeyProto({ 3: null }), /missing field 3/],
    ['missing inner message', preKeyProto({ 4: null }), /missing field 4/],
    ['missing signed prekey id', preKeyProto({ 6: null }), /missing field 6/],
    ['Kyber id without ciphertext', preKeyProto({ 8: null }), /must come together/],
    ['Kyber ciphertext without id', preKeyProto({ 7: null }), /must come together/],
    [
      'version 4 without Kyber fields',
      preKeyProto({ 7: null, 8: null }),
      /Kyber prekey must be present/,
    ],
    [
      'base key with type byte 0x06',
      preKeyProto({ 2: bField(2, [6, ...k.slice(1)]) }),
      /bad key in field 2/,
    ],
    ['identity key of 32 bytes', preKeyProto({ 3: bField(3, k.slice(1)) }), /bad key in field 3/],
    [
      'inner message too short',
      preKeyProto({ 4: bField(4, [0x44, 1, 2, 3]) }),
      /bad inner message/,
    ],
    [
      'inner message with a bad protobuf',
      preKeyProto({ 4: bField(4, [0x44, 0x0b, ...SAMPLE_MAC]) }),
      /bad inner message/,
    ],
  ];

  it.each(cases)('%s', (_name, proto, reason) => {
    const e = expectSignalErrorSync(
      () => decodePreKeySignalMessage(preKeyBytes(proto)),
      'ERR_INVALID_MESSAGE',
      reason,
    );
    expect(e.message).toMatch(/^invalid PreKeySignalMessage: /);
    expect(e.messageType).toBe('prekey');
  });

  it('unknown fields are skipped', () => {
    const m = decodePreKeySignalMessage(
      preKeyBytes(preKeyProto({}, [...vField(9, 3), ...bField(15, [1, 2])])),
    );
    expect(m.signedPreKeyId).toBe(41);
  });

  it('random protobuf field soup after valid fields only ever succeeds or throws a SignalError', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 120 }), (soup) => {
        onlySignalErrors(() => decodePreKeySignalMessage(preKeyBytes(preKeyProto({}, soup))));
      }),
      fcRuns(1500),
    );
  });

  it('the MAC of the inner message is kept as received', () => {
    const m = decodePreKeySignalMessage(preKeyBytes(preKeyProto()));
    expect(m.signalMessage.mac).toEqual(SAMPLE_MAC);
  });
});
