/**
 * Hostile input at the session level: random mutations of real messages, and forged SPQR
 * payloads (field 5, parsed and processed before the MAC is checked) at several points of a
 * conversation, so that every SCKA state sees them. The only allowed outcome is a chiffre error
 * with both stores unchanged; afterwards the session still works.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
} from '../../src/hazmat/index.js';
import { type CiphertextMessage, isSignalError } from '../../src/index.js';
import { attachMac } from '../../src/wire/index.js';
import {
  encryptText,
  establish,
  expectWorking,
  fcRuns,
  makeTestParty,
  send,
  snapshotOf,
  type TestParty,
} from '../support/session-helpers.js';
import { mutate, mutationArb, varint } from '../wire/wire-helpers.js';

async function refusedCleanly(
  receiver: TestParty,
  sender: TestParty,
  message: CiphertextMessage,
): Promise<string> {
  const before = [snapshotOf(receiver.store), snapshotOf(sender.store)];
  let code = 'decrypted';
  try {
    await receiver.manager.decrypt(sender.address, message);
  } catch (e) {
    if (!isSignalError(e)) {
      expect.fail(
        `expected a SignalError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
      );
    }
    code = e.code;
  }
  expect(code).not.toBe('decrypted');
  expect([snapshotOf(receiver.store), snapshotOf(sender.store)]).toEqual(before);
  return code;
}

/** A forged SPQR V1 message: any epoch, index, type, chunk index and data. */
const spqrArb: fc.Arbitrary<Uint8Array> = fc
  .record({
    version: fc.constantFrom(1, 1, 1, 1, 0, 2, 0xff),
    epoch: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.constantFrom(2 ** 32, 2 ** 53, 2 ** 53 + 1)),
    index: fc.oneof(
      fc.integer({ min: 0, max: 60 }),
      fc.constantFrom(25_000, 25_001, 0xffff_ffff, 2 ** 32),
    ),
    type: fc.integer({ min: 0, max: 8 }),
    chunkIndex: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.constantFrom(65_535, 65_536)),
    data: fc.uint8Array({ minLength: 0, maxLength: 40 }),
    trailing: fc.uint8Array({ maxLength: 4 }),
  })
  .map((r) =>
    Uint8Array.from([
      r.version,
      ...varint(r.epoch),
      ...varint(r.index),
      r.type,
      ...varint(r.chunkIndex),
      ...r.data,
      ...r.trailing,
    ]),
  );

function withPq(message: CiphertextMessage, pq: Uint8Array): CiphertextMessage {
  if (message.type === 'whisper') {
    const m = decodeSignalMessage(message.body);
    return {
      type: 'whisper',
      body: attachMac(encodeSignalMessageBody({ ...m, pqRatchet: pq }), m.mac),
    };
  }
  const p = decodePreKeySignalMessage(message.body);
  const inner = p.signalMessage;
  const body = attachMac(encodeSignalMessageBody({ ...inner, pqRatchet: pq }), inner.mac);
  return { type: 'prekey', body: encodePreKeySignalMessage({ ...p, message: body }) };
}

describe('session-level fuzzing', () => {
  let alice: TestParty;
  let bob: TestParty;
  beforeAll(async () => {
    alice = makeTestParty('alice');
    bob = makeTestParty('bob');
    await establish(alice, bob);
  });

  it('random mutations of real messages (both types, both directions)', async () => {
    const carol = makeTestParty('carol');
    await carol.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const samples: [TestParty, TestParty, CiphertextMessage][] = [
      [bob, alice, await encryptText(alice, bob, 'to bob')],
      [alice, bob, await encryptText(bob, alice, 'to alice')],
      [bob, carol, await encryptText(carol, bob, 'prekey to bob')],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        async (which, mutations) => {
          const [receiver, sender, message] = samples[which % samples.length]!;
          const body = mutate(message.body, mutations);
          if (body.length === message.body.length && body.every((b, i) => b === message.body[i]))
            return;
          await refusedCleanly(receiver, sender, { type: message.type, body });
        },
      ),
      fcRuns(300),
    );
    for (const [receiver, sender, message] of samples) {
      await receiver.manager.decrypt(sender.address, message);
    }
    await expectWorking(alice, bob);
  });

  // Forged field 5 at several stages of the conversation (SCKA header, ek, ct1, ct2 phases).
  for (const roundTrips of [0, 3, 12, 30]) {
    it(`forged SPQR payloads after ${String(roundTrips)} more round trips`, async () => {
      for (let i = 0; i < roundTrips; i++) {
        await send(alice, bob, `a${String(i)}`);
        await send(bob, alice, `b${String(i)}`);
      }
      const toBob = await encryptText(alice, bob, 'carrier to bob');
      const toAlice = await encryptText(bob, alice, 'carrier to alice');
      await fc.assert(
        fc.asyncProperty(spqrArb, fc.boolean(), async (pq, toB) => {
          const code = toB
            ? await refusedCleanly(bob, alice, withPq(toBob, pq))
            : await refusedCleanly(alice, bob, withPq(toAlice, pq));
          expect(['ERR_INVALID_MESSAGE', 'ERR_DUPLICATE_MESSAGE']).toContain(code);
        }),
        fcRuns(120),
      );
      expect(await alice.manager.decrypt(bob.address, toAlice)).toBeInstanceOf(Uint8Array);
      expect(await bob.manager.decrypt(alice.address, toBob)).toBeInstanceOf(Uint8Array);
      await expectWorking(alice, bob);
    });
  }
});
