/**
 * SPQR known answers: the derived vectors of libsignal-extras §D.13 (made by an implementation
 * that agreed with libsignal 0.103 on every message), checked against src/spqr's chain and
 * authenticator and the Double Ratchet's message-key derivation; and the field 5 codec (§D.3):
 * round trips, the documented example, varints, trailing bytes, and every malformed form.
 */
import { hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveMessageKeys, deriveMessageSeed } from '../../src/ratchet/kdf.js';
import {
  initialAuthenticator,
  macCiphertext,
  macHeader,
  updateAuthenticator,
  verifyCiphertextMac,
  verifyHeaderMac,
} from '../../src/spqr/authenticator.js';
import {
  addEpoch,
  chainRecvKey,
  chainSendKey,
  type SpqrChain,
  startChain,
} from '../../src/spqr/chain.js';
import {
  decodeSpqrMessage,
  encodeSpqrMessage,
  SpqrError,
  type SpqrMessage,
  type SpqrPayload,
} from '../../src/spqr/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import { fcRuns } from '../support/session-helpers.js';

const PARAMS = { maxJump: 25_000, maxOooKeys: 2_000 };
const AUTH_KEY = new Uint8Array(32).fill(0x29);

const V = {
  nextRoot: 'c6f396ad3b038d7bb7eedbabd7c45c83eef0c9c42fca9f44d6f056e4b68be30c',
  a2bSeed: 'd45d5d9ebca8f45f591019cfe4231f37663b50de7c9d419e8eb4dd50f3726384',
  b2aSeed: '598c199754146d732fe1bf89926833f0ed44b8a5220b662bdf0398c28c4f49ab',
  e0a2b1: '9bcdfae095d09aa8ab367dd231d1d271fe580b555bcc6f64ff079d53d9a9db5d',
  e0a2b2: '6af868be8ea72f8ca3bb819c9623c0c9ffebd6f8503937d8f4fac142ac42a48e',
  e0b2a1: '8ede114ee798830a3d35a383e72e96d82a9adca0ac699c12fdf99069220e2da8',
  authRoot: '486eb283e739a2b7baea016d6a70df801616dfbf3f022b77a27cfaa3360348a0',
  authMac: '5a368111ae4f8d5d407e4b9a369e67af9e01d9449cf2b5e50cede3f7ab525a1e',
  macHdr: '66661f0392da7880ca1ab8c1b81599740cf445b7c0ba60c91c05ed2fe8ce7ffe',
  epochSecret: 'd32dfea923f78b37a9433e5c30c049ebc767ed19d050bdd3de360f8b31129d94',
  auth1Root: '8bad3756c6d1b18e80cbea3e4af27041d0ba9ce01bd72509874a994439132d60',
  auth1Mac: '4e698a00bc3f7d2c3983e03681e27ff26e321285c248d02e6f8c4c268034f237',
  macCt: '8174cb179f0706f49d4cfff6df8dd39d4073c7e46bd8e6fbf14fd519131ed2b8',
  e1NextRoot: '6c092b4ca23e56098d0d0dcc7fbb063950e05401297ed08a486094cde3193d66',
  e1a2b: 'aff64badbdfbac5e87c59c8c0c626385e11e0c60b6159de0fc40aacce1daef67',
  e1b2a: '7f05af5cd4cd32890bb701b832edb884bd06cb9cab0049098cf8018401841797',
  e1a2b1: 'e5c1addd3628d8f9d6d6cd3fe46b3ffcb817643ced7ab5b83462b1462d6aa306',
  drSeed: '0b175bca3524cc7301c33946d7e00d3f008cb14632b72855b3442a7365403893',
  keysNoSalt:
    '4bc2323f03c0775ef31539f2af1602678a959d05d859fd37bbfdf48ab5deed5e7180b09f2431fe256610f5d5194931' +
    '47662f059c1a0ce9a9595aa8f5e5ae3491bd020ee6a7b5be34cc4ad4d3d4d49c82',
  keysSalted:
    '452cc5c9fe3538e1c260e7f1108fb5ef3a049fb34a4ac2f0212177d413404c952f325ac772665e1e7ea0c82d4f45d2' +
    '306a12f8bc81897d20fe959188a7de69052d819e4c043621c37de5a29f290d977a',
};

const u64be = (n: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const hex = bytesToHex;

/** The secrets of link `back` links before the newest, both halves. */
function link(chain: SpqrChain, back = 0): { send: string; recv: string } {
  const l = chain.links[chain.links.length - 1 - back];
  if (l === undefined) throw new Error('no such link');
  return { send: hex(l.send.next), recv: hex(l.recv.next) };
}

describe('libsignal-extras §D.13 derived vectors (auth_key = 0x29 × 32)', () => {
  it('chain start: next root and the two direction seeds', () => {
    const a = startChain(AUTH_KEY, 'a2b', PARAMS);
    expect(hex(a.nextRoot)).toBe(V.nextRoot);
    expect(link(a)).toEqual({ send: V.a2bSeed, recv: V.b2aSeed });
    const b = startChain(AUTH_KEY, 'b2a', PARAMS);
    expect(hex(b.nextRoot)).toBe(V.nextRoot);
    expect(link(b)).toEqual({ send: V.b2aSeed, recv: V.a2bSeed });
    expect(a.currentEpoch).toBe(0);
  });

  it('epoch 0 keys: A2B #1, #2 and B2A #1, on both the sending and the receiving side', () => {
    let a = startChain(AUTH_KEY, 'a2b', PARAMS);
    const k1 = chainSendKey(a, 0);
    a = k1.chain;
    const k2 = chainSendKey(a, 0);
    expect([k1.index, k2.index]).toEqual([1, 2]);
    expect(hex(k1.key)).toBe(V.e0a2b1);
    expect(hex(k2.key)).toBe(V.e0a2b2);
    const b = startChain(AUTH_KEY, 'b2a', PARAMS);
    expect(hex(chainSendKey(b, 0).key)).toBe(V.e0b2a1);
    // Bob's receiving half yields Alice's keys, also out of order.
    const r2 = chainRecvKey(b, 0, 2);
    expect(hex(r2.key)).toBe(V.e0a2b2);
    expect(hex(chainRecvKey(r2.chain, 0, 1).key)).toBe(V.e0a2b1);
    expect(hex(chainRecvKey(k2.chain, 0, 1).key)).toBe(V.e0b2a1);
  });

  it('authenticator init, header MAC, epoch secret, update, ciphertext MAC', () => {
    const auth = initialAuthenticator(AUTH_KEY);
    expect(hex(auth.rootKey)).toBe(V.authRoot);
    expect(hex(auth.macKey)).toBe(V.authMac);
    const hdr = Uint8Array.from({ length: 64 }, (_, i) => i);
    expect(hex(macHeader(auth, 1, hdr))).toBe(V.macHdr);
    expect(verifyHeaderMac(auth, 1, hdr, hexToBytes(V.macHdr))).toBe(true);
    expect(verifyHeaderMac(auth, 2, hdr, hexToBytes(V.macHdr))).toBe(false);

    // Epoch secret: HKDF(salt 0^32, ss, "Signal_PQCKA_V1_MLKEM768:SCKA Key" ‖ u64be(1), 32),
    // computed with node's HKDF as an independent check of the info string.
    const ss = new Uint8Array(32).fill(0x11);
    const secret = new Uint8Array(
      hkdfSync(
        'sha256',
        ss,
        new Uint8Array(32),
        concat(Buffer.from('Signal_PQCKA_V1_MLKEM768:SCKA Key'), u64be(1)),
        32,
      ),
    );
    expect(hex(secret)).toBe(V.epochSecret);

    const auth1 = updateAuthenticator(auth, 1, secret);
    expect(hex(auth1.rootKey)).toBe(V.auth1Root);
    expect(hex(auth1.macKey)).toBe(V.auth1Mac);
    const ct = Uint8Array.from({ length: 1088 }, (_, i) => i & 0xff);
    expect(hex(macCiphertext(auth1, 1, ct))).toBe(V.macCt);
    expect(verifyCiphertextMac(auth1, 1, ct, hexToBytes(V.macCt))).toBe(true);
    const flipped = ct.slice();
    flipped[1087] = (flipped[1087] as number) ^ 1;
    expect(verifyCiphertextMac(auth1, 1, flipped, hexToBytes(V.macCt))).toBe(false);
    // The inputs were not touched.
    expect(hex(auth.macKey)).toBe(V.authMac);
  });

  it('add epoch 1 and the epoch-1 A2B key #1', () => {
    const a0 = startChain(AUTH_KEY, 'a2b', PARAMS);
    const a1 = addEpoch(a0, 1, hexToBytes(V.epochSecret));
    expect(a1.currentEpoch).toBe(1);
    expect(hex(a1.nextRoot)).toBe(V.e1NextRoot);
    expect(link(a1)).toEqual({ send: V.e1a2b, recv: V.e1b2a });
    expect(link(a1, 1)).toEqual({ send: V.a2bSeed, recv: V.b2aSeed });
    const k = chainSendKey(a1, 1);
    expect(k.index).toBe(1);
    expect(hex(k.key)).toBe(V.e1a2b1);
    // Bob's side of the same epoch.
    const b1 = addEpoch(startChain(AUTH_KEY, 'b2a', PARAMS), 1, hexToBytes(V.epochSecret));
    expect(hex(chainRecvKey(b1, 1, 1).key)).toBe(V.e1a2b1);
    // Epochs are added in order only.
    expect(() => addEpoch(a0, 2, hexToBytes(V.epochSecret))).toThrow(SpqrError);
    expect(() => addEpoch(a1, 1, hexToBytes(V.epochSecret))).toThrow(SpqrError);
  });

  it('Double Ratchet mixing: the 80-byte message keys without and with the SPQR salt', () => {
    const seed = deriveMessageSeed(new Uint8Array(32).fill(0x42));
    expect(hex(seed)).toBe(V.drSeed);
    const all = (k: { cipherKey: Uint8Array; macKey: Uint8Array; iv: Uint8Array }): string =>
      hex(concat(k.cipherKey, k.macKey, k.iv));
    const plain = deriveMessageKeys(seed);
    expect(plain.cipherKey).toHaveLength(32);
    expect(plain.macKey).toHaveLength(32);
    expect(plain.iv).toHaveLength(16);
    expect(all(plain)).toBe(V.keysNoSalt);
    expect(all(deriveMessageKeys(seed, hexToBytes(V.e0a2b1)))).toBe(V.keysSalted);
    // The salt is really used, and the seed is left alone.
    expect(all(deriveMessageKeys(seed, hexToBytes(V.e0a2b2)))).not.toBe(V.keysSalted);
    expect(hex(seed)).toBe(V.drSeed);
  });
});

// -- the field 5 codec --------------------------------------------------------------------------

const CHUNK_TYPES = ['hdr', 'ek', 'ek-ct1-ack', 'ct1', 'ct2'] as const;
const TYPE_CODE: Record<SpqrPayload['type'], number> = {
  none: 0,
  hdr: 1,
  ek: 2,
  'ek-ct1-ack': 3,
  'ct1-ack': 4,
  ct1: 5,
  ct2: 6,
};

/** Independent LEB128 writer (bigint, up to u64). */
function leb(v: bigint): number[] {
  const out: number[] = [];
  let x = v;
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? b | 0x80 : b);
  } while (x > 0n);
  return out;
}

/** Independent encoder of an SPQR V1 message. */
function build(
  epoch: bigint,
  index: bigint,
  type: number,
  chunk?: [bigint, Uint8Array],
): Uint8Array {
  const head = [1, ...leb(epoch), ...leb(index), type];
  if (chunk === undefined) return Uint8Array.from(head);
  return Uint8Array.from([...head, ...leb(chunk[0]), ...chunk[1]]);
}

const chunk32 = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);

function expectMalformed(bytes: Uint8Array): void {
  let caught: unknown;
  try {
    decodeSpqrMessage(bytes);
  } catch (e) {
    caught = e;
  }
  expect(caught, `0x${hex(bytes)}`).toBeInstanceOf(SpqrError);
  expect((caught as SpqrError).reason).toBe('malformed');
}

const arbPayload: fc.Arbitrary<SpqrPayload> = fc.oneof(
  fc.constantFrom<SpqrPayload>({ type: 'none' }, { type: 'ct1-ack' }),
  fc
    .record({
      type: fc.constantFrom(...CHUNK_TYPES),
      index: fc.integer({ min: 0, max: 65535 }),
      data: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    })
    .map(({ type, index, data }) => ({ type, chunk: { index, data } })),
);

const arbMessage: fc.Arbitrary<SpqrMessage> = fc.record({
  epoch: fc.oneof(
    fc.integer({ min: 1, max: 300 }),
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  ),
  index: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffff_ffff })),
  payload: arbPayload,
});

describe('field 5 codec (§D.3)', () => {
  it('the example first message from Alice: 01 01 01 01 00 ‖ 32 bytes', () => {
    const bytes = encodeSpqrMessage({
      epoch: 1,
      index: 1,
      payload: { type: 'hdr', chunk: { index: 0, data: chunk32 } },
    });
    expect(hex(bytes)).toBe(`0101010100${hex(chunk32)}`);
    expect(bytes).toHaveLength(37);
    const back = decodeSpqrMessage(bytes);
    expect(back).toEqual({
      epoch: 1,
      index: 1,
      payload: { type: 'hdr', chunk: { index: 0, data: chunk32 } },
    });
    // Typical chunkless size: 4 bytes.
    expect(hex(encodeSpqrMessage({ epoch: 1, index: 0, payload: { type: 'none' } }))).toBe(
      '01010000',
    );
    expect(hex(encodeSpqrMessage({ epoch: 2, index: 7, payload: { type: 'ct1-ack' } }))).toBe(
      '01020704',
    );
  });

  it('varints are LEB128: 0x012C ↔ AC 02, in every position', () => {
    expect(leb(0x12cn)).toEqual([0xac, 0x02]);
    const e = encodeSpqrMessage({
      epoch: 0x12c,
      index: 0x12c,
      payload: { type: 'ct2', chunk: { index: 0x12c, data: chunk32 } },
    });
    expect(hex(e)).toBe(`01ac02ac0206ac02${hex(chunk32)}`);
    expect(decodeSpqrMessage(e)).toEqual({
      epoch: 300,
      index: 300,
      payload: { type: 'ct2', chunk: { index: 300, data: chunk32 } },
    });
    // Extremes: u32 index, chunk index 65535, large epochs, and a redundant (non-minimal) form.
    const big = build(2n ** 53n - 1n, 0xffff_ffffn, 5, [65535n, chunk32]);
    expect(decodeSpqrMessage(big)).toMatchObject({
      epoch: Number.MAX_SAFE_INTEGER,
      index: 0xffff_ffff,
    });
    expect(hex(encodeSpqrMessage(decodeSpqrMessage(big)))).toBe(hex(big));
    expect(decodeSpqrMessage(Uint8Array.of(1, 0x81, 0x00, 0x80, 0x00, 0))).toEqual({
      epoch: 1,
      index: 0,
      payload: { type: 'none' },
    });
  });

  it('every payload type has its code and chunk presence', () => {
    for (const [type, code] of Object.entries(TYPE_CODE)) {
      const payload: SpqrPayload =
        type === 'none' || type === 'ct1-ack'
          ? { type }
          : { type: type as (typeof CHUNK_TYPES)[number], chunk: { index: 3, data: chunk32 } };
      const bytes = encodeSpqrMessage({ epoch: 5, index: 9, payload });
      expect(bytes[3]).toBe(code);
      expect(bytes.length).toBe('chunk' in payload ? 37 : 4);
      expect(decodeSpqrMessage(bytes)).toEqual({ epoch: 5, index: 9, payload });
    }
  });

  it('round trips (property), and the encoder agrees with an independent one', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const bytes = encodeSpqrMessage(m);
        const p = m.payload;
        const ref = build(
          BigInt(m.epoch),
          BigInt(m.index),
          TYPE_CODE[p.type],
          'chunk' in p ? [BigInt(p.chunk.index), p.chunk.data] : undefined,
        );
        expect(hex(bytes)).toBe(hex(ref));
        expect(decodeSpqrMessage(bytes)).toEqual(m);
      }),
      fcRuns(300),
    );
  });

  it('trailing bytes are accepted and ignored (forward compatibility)', () => {
    fc.assert(
      fc.property(arbMessage, fc.uint8Array({ minLength: 1, maxLength: 40 }), (m, tail) => {
        const bytes = encodeSpqrMessage(m);
        expect(decodeSpqrMessage(Uint8Array.from([...bytes, ...tail]))).toEqual(m);
      }),
      fcRuns(200),
    );
  });

  it('malformed forms are refused with reason "malformed"', () => {
    const cases: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      'version 0': Uint8Array.of(0, 1, 1, 0),
      'version 2': Uint8Array.of(2, 1, 1, 0),
      'version 0xff': Uint8Array.of(0xff, 1, 1, 1, 0, ...chunk32),
      'version only': Uint8Array.of(1),
      'epoch 0': build(0n, 1n, 0),
      'epoch 0 with chunk': build(0n, 1n, 1, [0n, chunk32]),
      'epoch beyond 2^53': build(2n ** 53n, 1n, 0),
      'epoch u64 max': build(2n ** 64n - 1n, 1n, 0),
      'index 2^32': build(1n, 2n ** 32n, 0),
      'index u64 max': build(1n, 2n ** 64n - 1n, 0),
      'no index': Uint8Array.of(1, 1),
      'no type': Uint8Array.of(1, 1, 1),
      'type 7': build(1n, 1n, 7),
      'type 0x80': build(1n, 1n, 0x80),
      'type 0xff with chunk': build(1n, 1n, 0xff, [0n, chunk32]),
      'chunk missing': build(1n, 1n, 1),
      'chunk truncated to 31': build(1n, 1n, 5, [0n, chunk32.subarray(0, 31)]),
      'chunk truncated to 1': build(1n, 1n, 6, [2n, chunk32.subarray(0, 1)]),
      'chunk index only': Uint8Array.of(1, 1, 1, 2, 0),
      'chunk index 65536': build(1n, 1n, 2, [65536n, chunk32]),
      'chunk index u32 max': build(1n, 1n, 3, [0xffff_ffffn, chunk32]),
      'unterminated epoch varint': Uint8Array.of(1, 0x80),
      'unterminated index varint': Uint8Array.of(1, 1, 0xff, 0xff),
      'unterminated chunk index varint': Uint8Array.of(1, 1, 1, 1, 0x80),
      'epoch varint of 11 bytes': Uint8Array.of(1, ...new Array<number>(10).fill(0x81), 0x01, 1, 0),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect(() => decodeSpqrMessage(bytes), name).toThrow(SpqrError);
      expectMalformed(bytes);
    }
    // Every strict prefix of a chunk-carrying message is malformed.
    const full = build(300n, 70000n, 5, [1234n, chunk32]);
    for (let n = 0; n < full.length; n++) expectMalformed(full.subarray(0, n));
  });

  it('random bytes: either a message that re-encodes to a prefix, or "malformed"', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        let m: SpqrMessage;
        try {
          m = decodeSpqrMessage(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(SpqrError);
          expect((e as SpqrError).reason).toBe('malformed');
          return;
        }
        expect(m.epoch).toBeGreaterThanOrEqual(1);
        expect(decodeSpqrMessage(encodeSpqrMessage(m))).toEqual(m);
      }),
      fcRuns(1000),
    );
  });
});
