/**
 * Stored records that decode but are inconsistent (the fuzzer's `record-session` and
 * `record-spqr-state` findings, reduced to one field each). A corrupt record must surface as a
 * typed error — `ERR_INVALID_RECORD`, never reported as a bad message (STYLE.md §1.7) and never
 * as an internal exception — and must not be rewritten.
 *
 * Each case stores a real session whose SPQR state has one field changed through the hazmat
 * layer; the record still serializes and deserializes (the decoder checks shapes and bounds, not
 * cross-field consistency), and then `encrypt` runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isSignalError, SessionRecord } from '../../src/index.js';
import type { SessionState } from '../../src/ratchet/index.js';
import type { SpqrChain } from '../../src/spqr/chain.js';
import { makeParty, type Party } from '../support/parties.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

let alice: Party;
let bob: Party;
let original: SessionRecord;

beforeAll(async () => {
  alice = makeParty('alice');
  bob = makeParty('bob');
  await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
  for (let turn = 0; turn < 120; turn++) {
    await bob.manager.decrypt(alice.address, await alice.manager.encrypt(bob.address, enc('a')));
    await alice.manager.decrypt(bob.address, await bob.manager.encrypt(alice.address, enc('b')));
  }
  const record = alice.store.loadSession(bob.address);
  if (record === null) throw new Error('no session');
  original = record;
  expect((await alice.manager.getSpqrStatus(bob.address))?.completedEpochs).toBeGreaterThanOrEqual(
    2,
  );
});

function current(): SessionState {
  return original.currentState as SessionState;
}

function withPq(change: (s: SessionState) => SessionState['pqRatchet']): SessionRecord {
  const s = current();
  // The store keeps it as bytes; loading them is where an inconsistent SPQR state is refused.
  return original.withCurrentState({ ...s, pqRatchet: change(s) });
}

async function decryptWith(record: SessionRecord): Promise<unknown> {
  const message = await bob.manager.encrypt(alice.address, enc('to a corrupt record'));
  alice.store.storeSession(bob.address, record);
  const before = alice.store.snapshot();
  try {
    await alice.manager.decrypt(bob.address, message);
    return undefined;
  } catch (e) {
    expect(alice.store.snapshot()).toEqual(before);
    return e;
  } finally {
    alice.store.storeSession(bob.address, original);
  }
}

async function encryptWith(record: SessionRecord): Promise<unknown> {
  alice.store.storeSession(bob.address, record);
  const before = alice.store.snapshot();
  try {
    await alice.manager.encrypt(bob.address, enc('hello'));
    return undefined;
  } catch (e) {
    expect(alice.store.snapshot()).toEqual(before);
    return e;
  } finally {
    alice.store.storeSession(bob.address, original);
  }
}

const describeError = (e: unknown): string =>
  isSignalError(e)
    ? `${e.code}: ${e.message}`
    : e instanceof Error
      ? `${e.name}: ${e.message}`
      : String(e);

describe('stored records that decode but are inconsistent', () => {
  it('the unmodified record encrypts', async () => {
    expect(await encryptWith(original)).toBeUndefined();
  });

  it.each([
    [
      'SCKA epoch ahead of the chain (SpqrError epoch-out-of-range today)',
      (s: SessionState): SessionState['pqRatchet'] => {
        const scka = s.pqRatchet.scka;
        if (scka === undefined) throw new Error('no SCKA');
        return { ...s.pqRatchet, scka: { ...scka, epoch: scka.epoch + 6 } };
      },
    ],
    [
      'SCKA epoch behind the chain send epoch (SpqrError send-epoch-decreased today)',
      (s: SessionState): SessionState['pqRatchet'] => {
        const scka = s.pqRatchet.scka;
        const chain = s.pqRatchet.chain as SpqrChain;
        if (scka === undefined) throw new Error('no SCKA');
        return {
          ...s.pqRatchet,
          scka: { ...scka, epoch: 1 },
          chain: { ...chain, sendEpoch: chain.currentEpoch },
        };
      },
    ],
    [
      'sending half of the send epoch wiped (SpqrError chain-unavailable today)',
      (s: SessionState): SessionState['pqRatchet'] => {
        const chain = s.pqRatchet.chain as SpqrChain;
        const links = chain.links.map((l) => ({
          ...l,
          send: { ...l.send, next: new Uint8Array(0) },
        }));
        return { ...s.pqRatchet, chain: { ...chain, links } };
      },
    ],
  ])('%s → ERR_INVALID_RECORD, nothing written', async (_name, change) => {
    const record = withPq(change);
    const e = await encryptWith(record);
    expect
      .soft(e === undefined ? 'success' : describeError(e), 'encrypt')
      .toMatch(/^ERR_INVALID_RECORD/);
    // Decrypting with the same record must not report the corruption as a bad message either
    // (it may succeed when the corrupt part is not needed to receive).
    const d = await decryptWith(record);
    expect
      .soft(d === undefined ? 'success' : describeError(d), 'decrypt')
      .toMatch(/^(success|ERR_INVALID_RECORD)/);
  });
});
