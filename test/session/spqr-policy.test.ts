/**
 * SPQR as seen from the session core: every policy combination interoperates chiffre↔chiffre and
 * settles on V1; once negotiated, a message without field 5 is refused even with a valid MAC
 * (no downgrade); SPQR failures are reported as docs/protocol.md says.
 */
import { describe, expect, it } from 'vitest';
import {
  aes256CbcEncrypt,
  concatBytes,
  decodeSignalMessage,
  deriveMessageKeys,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
  hmacSha256,
  ratchetSendStep,
  secureRandom,
} from '../../src/hazmat/index.js';
import type { CiphertextMessage } from '../../src/index.js';
import { spqrSend } from '../../src/spqr/index.js';
import { attachMac } from '../../src/wire/index.js';
import {
  decryptText,
  encryptText,
  establish,
  expectCleanFailure,
  expectWorking,
  makeTestParty,
  recordOf,
  type TestParty,
  utf8,
} from '../support/session-helpers.js';

type Policy = 'require-v1' | 'allow-v0';

describe('SPQR policies between chiffre parties', () => {
  it.each([
    ['require-v1', 'require-v1'],
    ['require-v1', 'allow-v0'],
    ['allow-v0', 'require-v1'],
    ['allow-v0', 'allow-v0'],
  ] as [Policy, Policy][])('%s initiator ↔ %s responder: V1 on both sides', async (pa, pb) => {
    const alice = makeTestParty('alice', { spqrPolicy: pa });
    const bob = makeTestParty('bob', { spqrPolicy: pb });
    await establish(alice, bob);
    await expectWorking(alice, bob);
    for (const [owner, peer] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const status = await owner.manager.getSpqrStatus(peer.address);
      expect(status).toMatchObject({ version: 1, negotiating: false });
    }
    const m = decodeSignalMessage((await encryptText(alice, bob, 'field 5?')).body);
    expect(m.pqRatchet).toBeDefined();
    expect(m.pqRatchet![0]).toBe(1);
  });

  it('getSpqrStatus is null without a session', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    expect(await alice.manager.getSpqrStatus(bob.address)).toBeNull();
  });
});

describe('no downgrade after negotiation', () => {
  let alice: TestParty;
  let bob: TestParty;

  /** Alice's next message, built by hand: with SPQR (as chiffre sends it) or without field 5. */
  async function handMade(withSpqr: boolean, text: string): Promise<CiphertextMessage> {
    const state = (await recordOf(alice, bob)).currentState!;
    const step = ratchetSendStep(state);
    const pq = withSpqr ? spqrSend(state.pqRatchet, secureRandom) : undefined;
    const keys = deriveMessageKeys(step.seed, pq?.key);
    const body = encodeSignalMessageBody({
      messageVersion: 4,
      ratchetKey: step.ratchetKey,
      counter: step.counter,
      previousCounter: step.previousCounter,
      ciphertext: aes256CbcEncrypt(keys.cipherKey, keys.iv, utf8(text)),
      pqRatchet: pq?.message,
    });
    const mac = hmacSha256(
      keys.macKey,
      concatBytes(alice.identity.publicKey.serialize(), bob.identity.publicKey.serialize(), body),
    ).subarray(0, 8);
    return { type: 'whisper', body: attachMac(body, mac) };
  }

  it('a correctly MACed message without field 5 is refused; the same message with SPQR decrypts', async () => {
    alice = makeTestParty('alice');
    bob = makeTestParty('bob');
    await establish(alice, bob);
    const downgraded = await handMade(false, 'no pq');
    expect(decodeSignalMessage(downgraded.body).pqRatchet).toBeUndefined();
    await expectCleanFailure(
      [alice.store, bob.store],
      () => bob.manager.decrypt(alice.address, downgraded),
      'ERR_INVALID_MESSAGE',
    );
    // Positive control: the hand-made construction is right.
    const genuine = await handMade(true, 'with pq');
    expect(await decryptText(bob, alice, genuine)).toBe('with pq');
  });

  it('an SPQR failure surfaces as ERR_INVALID_MESSAGE "post-quantum ratchet error" (docs/protocol.md, Limits)', async () => {
    alice = makeTestParty('alice');
    bob = makeTestParty('bob');
    await establish(alice, bob);
    // Field 5 stripped, MAC valid: the refusal can only come from SPQR (refused downgrade).
    const downgraded = await handMade(false, 'no pq');
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, downgraded),
      'ERR_INVALID_MESSAGE',
      'post-quantum ratchet error',
    );
  });
});

describe('a peer without SPQR (hand-made first message without field 5, as a pre-SPQR client sends)', () => {
  /** Alice's next PreKeySignalMessage with no field 5 and unsalted keys, correctly MACed. */
  async function v0PreKeyMessage(
    alice: TestParty,
    bob: TestParty,
    text: string,
  ): Promise<CiphertextMessage> {
    const state = (await recordOf(alice, bob)).currentState!;
    const pending = state.pendingPreKey!;
    const step = ratchetSendStep(state);
    const keys = deriveMessageKeys(step.seed);
    const body = encodeSignalMessageBody({
      messageVersion: 4,
      ratchetKey: step.ratchetKey,
      counter: step.counter,
      previousCounter: step.previousCounter,
      ciphertext: aes256CbcEncrypt(keys.cipherKey, keys.iv, utf8(text)),
    });
    const mac = hmacSha256(
      keys.macKey,
      concatBytes(alice.identity.publicKey.serialize(), bob.identity.publicKey.serialize(), body),
    ).subarray(0, 8);
    return {
      type: 'prekey',
      body: encodePreKeySignalMessage({
        messageVersion: 4,
        registrationId: state.localRegistrationId,
        preKeyId: pending.preKeyId,
        signedPreKeyId: pending.signedPreKeyId,
        kyberPreKeyId: pending.kyberPreKeyId,
        kyberCiphertext: pending.kyberCiphertext,
        baseKey: pending.baseKey,
        identityKey: state.localIdentityKey,
        message: attachMac(body, mac),
      }),
    };
  }

  it("'require-v1' refuses it (refused downgrade), nothing written", async () => {
    const alice = makeTestParty('alice', { spqrPolicy: 'allow-v0' });
    const bob = makeTestParty('bob');
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await v0PreKeyMessage(alice, bob, 'no spqr here');
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_INVALID_MESSAGE',
    );
  });

  it('… with the message docs/protocol.md gives for a refused downgrade ("post-quantum ratchet error")', async () => {
    const alice = makeTestParty('alice', { spqrPolicy: 'allow-v0' });
    const bob = makeTestParty('bob');
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await v0PreKeyMessage(alice, bob, 'no spqr here');
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_INVALID_MESSAGE',
      'post-quantum ratchet error',
    );
  });

  it("'allow-v0' accepts it and both sides fall back to V0 for good", async () => {
    const alice = makeTestParty('alice', { spqrPolicy: 'allow-v0' });
    const bob = makeTestParty('bob', { spqrPolicy: 'allow-v0' });
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await v0PreKeyMessage(alice, bob, 'no spqr here');
    expect(await decryptText(bob, alice, m)).toBe('no spqr here');
    expect(await bob.manager.getSpqrStatus(alice.address)).toMatchObject({
      version: 0,
      negotiating: false,
    });
    const reply = await encryptText(bob, alice, 'fine, no spqr');
    expect(decodeSignalMessage(reply.body).pqRatchet).toBeUndefined();
    expect(await decryptText(alice, bob, reply)).toBe('fine, no spqr');
    expect(await alice.manager.getSpqrStatus(bob.address)).toMatchObject({
      version: 0,
      negotiating: false,
    });
    await expectWorking(alice, bob);
    const later = await encryptText(alice, bob, 'still none');
    expect(decodeSignalMessage(later.body).pqRatchet).toBeUndefined();
    expect(await decryptText(bob, alice, later)).toBe('still none');
  });
});

describe('sending chain exhaustion', () => {
  it('a sending chain at counter 2^32-1 → ERR_SESSION_NOT_FOUND naming the peer, nothing written', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    await establish(alice, bob);
    const record = await recordOf(alice, bob);
    const s = record.currentState!;
    const at = (index: number): typeof record =>
      record.withCurrentState({
        ...s,
        senderChain: { ...s.senderChain, chainKey: { ...s.senderChain.chainKey, index } },
      });

    // The last usable counter still works (the receiver sees a gap, which is its own business).
    alice.store.storeSession(bob.address, at(0xffff_fffe));
    const last = await encryptText(alice, bob, 'last');
    expect(decodeSignalMessage(last.body).counter).toBe(0xffff_fffe);

    const e = await expectCleanFailure(
      [alice.store],
      () => alice.manager.encrypt(bob.address, utf8('one too many')),
      'ERR_SESSION_NOT_FOUND',
    );
    expect(e.address).toBe(bob.address.toString());
    expect(e.message).toContain(bob.address.toString());
  });
});
