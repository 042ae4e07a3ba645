/**
 * Every refused message leaves both stores byte-for-byte unchanged, and the session keeps working
 * for the next valid message: tampered bytes (version, protobuf, ciphertext, MAC), truncated,
 * oversized and random input, wrong version bytes, crafted counters, duplicates.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_FORWARD_JUMPS } from '../../src/constants.js';
import {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
} from '../../src/hazmat/index.js';
import { type CiphertextMessage, isSignalError, KeyPair, PublicKey } from '../../src/index.js';
import { attachMac } from '../../src/wire/index.js';
import {
  decryptText,
  encryptText,
  establish,
  expectCleanFailure,
  expectWorking,
  fcRuns,
  makeTestParty,
  recordOf,
  snapshotOf,
  type TestParty,
} from '../support/session-helpers.js';

let alice: TestParty;
let bob: TestParty;
beforeEach(async () => {
  alice = makeTestParty('alice');
  bob = makeTestParty('bob');
  await establish(alice, bob);
});

const stores = (): TestParty['store'][] => [alice.store, bob.store];
const whisper = (body: Uint8Array): CiphertextMessage => ({ type: 'whisper', body });
const prekey = (body: Uint8Array): CiphertextMessage => ({ type: 'prekey', body });
const flip = (b: Uint8Array, at: number, mask = 0x01): Uint8Array => {
  const out = b.slice();
  out[at] = (out[at] as number) ^ mask;
  return out;
};

describe('tampered SignalMessages', () => {
  it('each byte position class fails with the right code, and the original still decrypts', async () => {
    const m = await encryptText(alice, bob, 'original');
    expect(m.type).toBe('whisper');
    const parsed = decodeSignalMessage(m.body);
    const ctStart =
      m.body.length -
      8 -
      (parsed.pqRatchet === undefined ? 0 : parsed.pqRatchet.length + 2) -
      parsed.ciphertext.length;
    const cases: [string, Uint8Array, 'ERR_INVALID_MESSAGE' | 'ERR_UNSUPPORTED_VERSION'][] = [
      ['version high nibble (0x44 → 0x54)', flip(m.body, 0, 0x10), 'ERR_UNSUPPORTED_VERSION'],
      ['version high nibble (0x44 → 0x24)', flip(m.body, 0, 0x60), 'ERR_UNSUPPORTED_VERSION'],
      ['version low nibble (MAC-covered)', flip(m.body, 0, 0x01), 'ERR_INVALID_MESSAGE'],
      ['version 3 in a version-4 session', flip(m.body, 0, 0x70), 'ERR_INVALID_MESSAGE'],
      ['protobuf key of field 1', flip(m.body, 1, 0x01), 'ERR_INVALID_MESSAGE'],
      ['protobuf: ratchet key byte', flip(m.body, 10), 'ERR_INVALID_MESSAGE'],
      ['protobuf: previous counter', flip(m.body, 39, 0x02), 'ERR_INVALID_MESSAGE'],
      ['protobuf: ciphertext length', flip(m.body, ctStart - 1, 0x01), 'ERR_INVALID_MESSAGE'],
      ['ciphertext first byte', flip(m.body, ctStart), 'ERR_INVALID_MESSAGE'],
      [
        'ciphertext last byte',
        flip(m.body, ctStart + parsed.ciphertext.length - 1),
        'ERR_INVALID_MESSAGE',
      ],
      ['MAC first byte', flip(m.body, m.body.length - 8), 'ERR_INVALID_MESSAGE'],
      ['MAC last byte', flip(m.body, m.body.length - 1, 0x80), 'ERR_INVALID_MESSAGE'],
    ];
    expect([m.body[36], m.body[38]]).toEqual([0x10, 0x18]); // counter and previous counter keys
    for (const [, body, code] of cases) {
      await expectCleanFailure(
        stores(),
        () => bob.manager.decrypt(alice.address, whisper(body)),
        code,
      );
    }
    expect(await decryptText(bob, alice, m)).toBe('original');
    await expectWorking(alice, bob);
  });

  it('a flip of any single byte is refused with a typed error and nothing written', async () => {
    const m = await encryptText(bob, alice, 'sweep');
    const codes = new Map<string, number>();
    for (let at = 0; at < m.body.length; at++) {
      const before = stores().map(snapshotOf);
      try {
        await alice.manager.decrypt(bob.address, whisper(flip(m.body, at)));
        expect.fail(`flip at ${String(at)} decrypted`);
      } catch (e) {
        if (!isSignalError(e)) throw e;
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
      expect(stores().map(snapshotOf)).toEqual(before);
    }
    // Only a counter flip may look like a duplicate; everything else is an authentication failure.
    expect(
      [...codes.keys()].every((c) => c === 'ERR_INVALID_MESSAGE' || c === 'ERR_DUPLICATE_MESSAGE'),
    ).toBe(true);
    expect(codes.get('ERR_INVALID_MESSAGE')).toBeGreaterThan(m.body.length - 3);
    expect(await decryptText(alice, bob, m)).toBe('sweep');
    await expectWorking(alice, bob);
  });

  it('truncated and oversized messages are refused', async () => {
    const m = await encryptText(alice, bob, 'size');
    const variants = [
      m.body.subarray(0, m.body.length - 1),
      m.body.subarray(0, m.body.length - 8),
      m.body.subarray(0, Math.floor(m.body.length / 2)),
      m.body.subarray(0, 8),
      new Uint8Array(0),
      Uint8Array.from([...m.body, 0]),
      Uint8Array.from([...m.body, ...new Uint8Array(100).fill(0xee)]),
      Uint8Array.from([...m.body, ...m.body]),
    ];
    for (const body of variants) {
      await expectCleanFailure(
        stores(),
        () => bob.manager.decrypt(alice.address, whisper(body)),
        'ERR_INVALID_MESSAGE',
      );
    }
    expect(await decryptText(bob, alice, m)).toBe('size');
    await expectWorking(alice, bob);
  });

  it('random bytes as a SignalMessage or a PreKeySignalMessage are refused with a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (body, asPreKey) => {
        const before = stores().map(snapshotOf);
        try {
          await bob.manager.decrypt(alice.address, asPreKey ? prekey(body) : whisper(body));
          expect.fail('random bytes decrypted');
        } catch (e) {
          expect(isSignalError(e)).toBe(true);
        }
        expect(stores().map(snapshotOf)).toEqual(before);
      }),
      fcRuns(150),
    );
    await expectWorking(alice, bob);
  });

  it('wrong version bytes: legacy and future → ERR_UNSUPPORTED_VERSION with the version', async () => {
    const m = await encryptText(alice, bob, 'versions');
    for (const [byte, version] of [
      [0x24, 2],
      [0x04, 0],
      [0x54, 5],
      [0xf4, 15],
    ] as const) {
      const body = m.body.slice();
      body[0] = byte;
      const e = await expectCleanFailure(
        stores(),
        () => bob.manager.decrypt(alice.address, whisper(body)),
        'ERR_UNSUPPORTED_VERSION',
      );
      expect(e.version).toBe(version);
    }
    expect(await decryptText(bob, alice, m)).toBe('versions');
  });
});

describe('crafted counters (hazmat)', () => {
  async function crafted(
    counter: number,
    ratchetKey?: PublicKey,
    pqRatchet?: Uint8Array,
  ): Promise<CiphertextMessage> {
    const state = (await recordOf(alice, bob)).currentState!;
    const body = encodeSignalMessageBody({
      messageVersion: 4,
      ratchetKey: ratchetKey ?? state.senderChain.ratchetKeyPair.publicKey,
      counter,
      previousCounter: 0,
      ciphertext: new Uint8Array(16),
      pqRatchet,
    });
    return whisper(attachMac(body, new Uint8Array(8).fill(0x5a)));
  }

  it('counter 2^32-1 on the live chain → ERR_MESSAGE_GAP_TOO_LARGE', async () => {
    const e = await expectCleanFailure(
      stores(),
      async () => bob.manager.decrypt(alice.address, await crafted(0xffff_ffff)),
      'ERR_MESSAGE_GAP_TOO_LARGE',
    );
    expect(e.limit).toBe(MAX_FORWARD_JUMPS);
    expect(e.gap).toBeGreaterThan(0xffff_0000);
    await expectWorking(alice, bob);
  });

  it('counter 2^32-1 on a new ratchet key → ERR_MESSAGE_GAP_TOO_LARGE', async () => {
    const e = await expectCleanFailure(
      stores(),
      async () =>
        bob.manager.decrypt(
          alice.address,
          await crafted(0xffff_ffff, KeyPair.generate().publicKey),
        ),
      'ERR_MESSAGE_GAP_TOO_LARGE',
    );
    expect(e.gap).toBe(0xffff_ffff);
    await expectWorking(alice, bob);
  });

  it(`a jump of ${String(MAX_FORWARD_JUMPS + 1)} is refused before any key is derived; a small forged jump fails the MAC`, async () => {
    const next = (await recordOf(alice, bob)).currentState!.senderChain.chainKey.index;
    const far = await expectCleanFailure(
      stores(),
      async () => bob.manager.decrypt(alice.address, await crafted(next + MAX_FORWARD_JUMPS + 1)),
      'ERR_MESSAGE_GAP_TOO_LARGE',
      `message too far into the future: gap ${String(MAX_FORWARD_JUMPS + 1)} exceeds ${String(MAX_FORWARD_JUMPS)}`,
    );
    expect(far.gap).toBe(MAX_FORWARD_JUMPS + 1);
    // Without field 5 SPQR refuses it first (no downgrade once negotiated) …
    await expectCleanFailure(
      stores(),
      async () => bob.manager.decrypt(alice.address, await crafted(next + 3)),
      'ERR_INVALID_MESSAGE',
    );
    // … with a genuine (undelivered) SPQR payload it gets as far as the MAC.
    const genuine = decodeSignalMessage((await encryptText(alice, bob, 'carrier')).body);
    await expectCleanFailure(
      stores(),
      async () =>
        bob.manager.decrypt(alice.address, await crafted(next + 3, undefined, genuine.pqRatchet)),
      'ERR_INVALID_MESSAGE',
      'decryption failed',
    );
    await expectWorking(alice, bob);
  });
});

describe('duplicates', () => {
  it('a replayed SignalMessage → ERR_DUPLICATE_MESSAGE with its counter; out-of-order keys are used once', async () => {
    const ms: CiphertextMessage[] = [];
    for (let i = 0; i < 4; i++) ms.push(await encryptText(alice, bob, `m${String(i)}`));
    const counters = ms.map((m) => decodeSignalMessage(m.body).counter);
    expect(await decryptText(bob, alice, ms[3]!)).toBe('m3');
    expect(await decryptText(bob, alice, ms[1]!)).toBe('m1');
    for (const i of [3, 1]) {
      const e = await expectCleanFailure(
        stores(),
        () => bob.manager.decrypt(alice.address, ms[i]!),
        'ERR_DUPLICATE_MESSAGE',
      );
      expect(e.counter).toBe(counters[i]);
      expect(e.message).toBe(`message with old counter ${String(counters[i])}`);
    }
    expect(await decryptText(bob, alice, ms[0]!)).toBe('m0');
    expect(await decryptText(bob, alice, ms[2]!)).toBe('m2');
    for (const m of ms)
      await expectCleanFailure(
        stores(),
        () => bob.manager.decrypt(alice.address, m),
        'ERR_DUPLICATE_MESSAGE',
      );
    await expectWorking(alice, bob);
  });

  it('a replayed PreKeySignalMessage → ERR_DUPLICATE_MESSAGE (it finds its session by base key)', async () => {
    const carol = makeTestParty('carol');
    await carol.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const first = await encryptText(carol, bob, 'first');
    const second = await encryptText(carol, bob, 'second');
    expect([first.type, second.type]).toEqual(['prekey', 'prekey']);
    expect(await decryptText(bob, carol, second)).toBe('second');
    expect(await decryptText(bob, carol, first)).toBe('first');
    const s = [carol.store, bob.store];
    await expectCleanFailure(
      s,
      () => bob.manager.decrypt(carol.address, first),
      'ERR_DUPLICATE_MESSAGE',
      'message with old counter 0',
    );
    await expectCleanFailure(
      s,
      () => bob.manager.decrypt(carol.address, second),
      'ERR_DUPLICATE_MESSAGE',
      'message with old counter 1',
    );
    await expectWorking(carol, bob);
  });
});

describe('tampered PreKeySignalMessages (a new session)', () => {
  it('each tampered field is refused with its own code; the one-time prekey is not consumed', async () => {
    const dave = makeTestParty('dave');
    await dave.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await encryptText(dave, bob, 'from dave');
    const p = decodePreKeySignalMessage(m.body);
    const re = (
      over: Partial<Parameters<typeof encodePreKeySignalMessage>[0]>,
    ): CiphertextMessage => prekey(encodePreKeySignalMessage({ ...p, ...over }));
    const innerFlip = (at: number): Uint8Array =>
      flip(p.message, at < 0 ? p.message.length + at : at);
    const ct = p.kyberCiphertext!;
    const s = [dave.store, bob.store];

    const cases: [string, CiphertextMessage, string, (string | RegExp)?][] = [
      ['inner MAC', re({ message: innerFlip(-1) }), 'ERR_INVALID_MESSAGE', 'decryption failed'],
      ['inner ciphertext', re({ message: innerFlip(-20) }), 'ERR_INVALID_MESSAGE'],
      ['inner ratchet key', re({ message: innerFlip(10) }), 'ERR_INVALID_MESSAGE'],
      [
        'Kyber ciphertext (implicit rejection)',
        re({ kyberCiphertext: flip(ct, 100) }),
        'ERR_INVALID_MESSAGE',
        'decryption failed',
      ],
      [
        'Kyber ciphertext type byte',
        re({ kyberCiphertext: flip(ct, 0, 0x02) }),
        'ERR_INVALID_MESSAGE',
        /Kyber ciphertext/,
      ],
      [
        'Kyber ciphertext length',
        re({ kyberCiphertext: ct.subarray(0, 1568) }),
        'ERR_INVALID_MESSAGE',
        /Kyber ciphertext/,
      ],
      [
        'base key',
        re({ baseKey: KeyPair.generate().publicKey }),
        'ERR_INVALID_MESSAGE',
        'decryption failed',
      ],
      [
        'identity key',
        re({ identityKey: KeyPair.generate().publicKey }),
        'ERR_INVALID_MESSAGE',
        'decryption failed',
      ],
      [
        'signed prekey id',
        re({ signedPreKeyId: 999 }),
        'ERR_MISSING_PREKEY',
        'missing signed prekey 999',
      ],
      [
        'Kyber prekey id',
        re({ kyberPreKeyId: 998 }),
        'ERR_MISSING_PREKEY',
        'missing kyber prekey 998',
      ],
      [
        'one-time prekey id',
        re({ preKeyId: 997 }),
        'ERR_MISSING_PREKEY',
        'missing one-time prekey 997',
      ],
      [
        'one-time prekey dropped',
        re({ preKeyId: undefined }),
        'ERR_INVALID_MESSAGE',
        'decryption failed',
      ],
      [
        'low-order base key',
        re({ baseKey: PublicKey.fromRaw(new Uint8Array(32)) }),
        'ERR_INVALID_KEY',
      ],
      [
        'message version 3',
        prekey(Uint8Array.from([0x34, ...m.body.subarray(1)])),
        'ERR_INVALID_MESSAGE',
        'X3DH (message version 3) is no longer supported',
      ],
      [
        'message version 5',
        prekey(Uint8Array.from([0x54, ...m.body.subarray(1)])),
        'ERR_UNSUPPORTED_VERSION',
      ],
      ['truncated', prekey(m.body.subarray(0, m.body.length - 1)), 'ERR_INVALID_MESSAGE'],
      ['appended garbage', prekey(Uint8Array.from([...m.body, 0xff, 0xff])), 'ERR_INVALID_MESSAGE'],
    ];
    for (const [name, msg, code, message] of cases) {
      try {
        await expectCleanFailure(
          s,
          () => bob.manager.decrypt(dave.address, msg),
          code as 'ERR_INVALID_MESSAGE',
          message,
        );
      } catch (e) {
        throw new Error(`case "${name}": ${String(e)}`, { cause: e });
      }
    }
    expect(await decryptText(bob, dave, m)).toBe('from dave');
    await expectWorking(dave, bob);
  });

  it('unauthenticated outer fields (registration id) do not stop decryption, as in libsignal', async () => {
    const erin = makeTestParty('erin');
    await erin.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await encryptText(erin, bob, 'reg id');
    const p = decodePreKeySignalMessage(m.body);
    const altered = encodePreKeySignalMessage({ ...p, registrationId: 4242 });
    expect(await decryptText(bob, erin, prekey(altered))).toBe('reg id');
    expect((await recordOf(bob, erin)).currentState!.remoteRegistrationId).toBe(4242);
  });
});
