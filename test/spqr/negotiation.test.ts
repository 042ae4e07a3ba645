/**
 * SPQR version negotiation between chiffre parties (libsignal-extras §D.10, libsignal-wire.md
 * §7.1): a pre-SPQR (V0) session, loaded from a stored record of format 1, never sends field 5
 * and keeps working; an 'allow-v0' side facing a V0 peer falls back to V0 for good; a
 * 'require-v1' side refuses the V0 peer's first message with its store unchanged; once V1 is
 * settled a message without field 5 is refused whatever the policy; and a field 5 of a higher
 * version follows spqr 1.6 (libsignal 0.103, checked live in spqr-0103.interop.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  IdentityKeyPair,
  InMemoryProtocolStore,
  ProtocolAddress,
  SessionManager,
  SessionRecord,
} from '../../src/index.js';
import {
  initialPqRatchetState,
  PQ_RATCHET_V0,
  SpqrError,
  spqrRecv,
  spqrSend,
  spqrStatus,
} from '../../src/spqr/index.js';
import { bytesToHex } from '../support/hex.js';
import {
  expectCode,
  expectRecvRefused,
  field5,
  forgeAsSender,
  makeDuo,
  type Policy,
  rawField5,
  seededRandom,
  setStoredPq,
  snapshotJson,
  stateHex,
  storedPq,
  withField5,
} from './support.js';

// -- the format-1 fixture (no SPQR state = V0) --------------------------------------------------

interface Side {
  name: string;
  deviceId: number;
  identity: string;
  registrationId: number;
  session: string;
}
interface Fixture {
  recordFormat: number;
  alice: Side;
  bob: Side;
  undelivered: { type: 'prekey' | 'whisper'; body: string; plaintext: string }[];
}

const fixture = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../fixtures/records-format-1.json', import.meta.url)),
    'utf8',
  ),
) as Fixture;
const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function restore(
  me: Side,
  peer: Side,
  policy: Policy,
): { manager: SessionManager; peer: ProtocolAddress } {
  const store = new InMemoryProtocolStore(
    IdentityKeyPair.deserialize(bytes(me.identity)),
    me.registrationId,
  );
  const peerAddress = new ProtocolAddress(peer.name, peer.deviceId);
  store.storeSession(peerAddress, SessionRecord.deserialize(bytes(me.session)));
  return {
    manager: new SessionManager({
      store,
      localAddress: new ProtocolAddress(me.name, me.deviceId),
      spqrPolicy: policy,
    }),
    peer: peerAddress,
  };
}

const V0_STATUS = { version: 0, negotiating: false, epoch: 0, completedEpochs: 0 };

describe('a V0 session (format-1 record, no SPQR state)', () => {
  for (const policy of ['require-v1', 'allow-v0'] as const) {
    it(`never sends field 5 and keeps working (managers with policy ${policy})`, async () => {
      expect(fixture.recordFormat).toBe(1);
      const alice = restore(fixture.alice, fixture.bob, policy);
      const bob = restore(fixture.bob, fixture.alice, policy);
      expect(await alice.manager.getSpqrStatus(alice.peer)).toEqual(V0_STATUS);
      expect(await bob.manager.getSpqrStatus(bob.peer)).toEqual(V0_STATUS);
      for (const m of [...fixture.undelivered].reverse()) {
        const message = { type: m.type, body: bytes(m.body) };
        expect(rawField5(message)).toBeUndefined();
        expect(text(await bob.manager.decrypt(bob.peer, message))).toBe(m.plaintext);
      }
      for (let i = 0; i < 25; i++) {
        for (const [from, to] of [
          [alice, bob],
          [bob, alice],
        ] as const) {
          const message = await from.manager.encrypt(from.peer, utf8(`v0 ${i}`));
          expect(rawField5(message), 'no field 5 from a V0 session').toBeUndefined();
          expect(text(await to.manager.decrypt(to.peer, message))).toBe(`v0 ${i}`);
        }
      }
      // The policy applies to new sessions only: a stored V0 session stays V0.
      expect(await alice.manager.getSpqrStatus(alice.peer)).toEqual(V0_STATUS);
      expect(await bob.manager.getSpqrStatus(bob.peer)).toEqual(V0_STATUS);
    });
  }

  it('refuses a message with field 5 only when its MAC does not cover it', async () => {
    const alice = restore(fixture.alice, fixture.bob, 'require-v1');
    const bob = restore(fixture.bob, fixture.alice, 'require-v1');
    const m = await alice.manager.encrypt(alice.peer, utf8('plain'));
    // An attacker adding field 5: the MAC no longer matches.
    await expectCode(
      bob.manager.decrypt(bob.peer, withField5(m, Uint8Array.of(1, 1, 1, 0))),
      'ERR_INVALID_MESSAGE',
    );
    expect(text(await bob.manager.decrypt(bob.peer, m))).toBe('plain');
  });
});

describe('negotiation between chiffre parties', () => {
  it('V1 by default: negotiating until the first received message, keyed from the start', async () => {
    const duo = await makeDuo();
    const { alice, bob } = duo;
    expect(await alice.manager.getSpqrStatus(bob.address)).toEqual({
      version: 1,
      negotiating: true,
      epoch: 1,
      completedEpochs: 0,
    });
    expect(await bob.manager.getSpqrStatus(alice.address)).toBeNull();
    const first = await duo.exchange(alice, 'first');
    expect(field5(first)).toMatchObject({ epoch: 1, index: 1, payload: { type: 'hdr' } });
    expect(await alice.manager.getSpqrStatus(bob.address)).toMatchObject({ negotiating: true });
    expect(await bob.manager.getSpqrStatus(alice.address)).toMatchObject({
      version: 1,
      negotiating: false,
    });
    const reply = await duo.exchange(bob, 'reply');
    expect(field5(reply)).toMatchObject({ epoch: 1, index: 1, payload: { type: 'none' } });
    expect(await alice.manager.getSpqrStatus(bob.address)).toMatchObject({
      version: 1,
      negotiating: false,
    });
  });

  it("an 'allow-v0' initiator sends no key (index 0) until it hears from its peer", async () => {
    const duo = await makeDuo({ alicePolicy: 'allow-v0' });
    const { alice, bob } = duo;
    for (let i = 0; i < 3; i++) {
      expect(field5(await duo.exchange(alice, `a${i}`))).toMatchObject({ epoch: 1, index: 0 });
    }
    expect(field5(await duo.exchange(bob, 'b'))?.index).toBe(1);
    expect(field5(await duo.exchange(alice, 'a3'))?.index).toBe(1);
    expect(await alice.manager.getSpqrStatus(bob.address)).toMatchObject({
      version: 1,
      negotiating: false,
    });
  });

  it("an 'allow-v0' responder meeting a V0 initiator downgrades for good", async () => {
    const duo = await makeDuo({ bobPolicy: 'allow-v0' });
    const { alice, bob } = duo;
    setStoredPq(alice, bob.address, PQ_RATCHET_V0);
    const first = await duo.exchange(alice, 'from a pre-SPQR peer');
    expect(first.type).toBe('prekey');
    expect(rawField5(first)).toBeUndefined();
    expect(await bob.manager.getSpqrStatus(alice.address)).toEqual(V0_STATUS);
    for (let i = 0; i < 20; i++) {
      expect(rawField5(await duo.exchange(bob, `b${i}`)), 'bob now sends V0').toBeUndefined();
      expect(rawField5(await duo.exchange(alice, `a${i}`))).toBeUndefined();
    }
    expect(await bob.manager.getSpqrStatus(alice.address)).toEqual(V0_STATUS);
  });

  it("a 'require-v1' responder refuses a V0 initiator's first message, store unchanged", async () => {
    const duo = await makeDuo();
    const { alice, bob } = duo;
    setStoredPq(alice, bob.address, PQ_RATCHET_V0);
    const before = snapshotJson(bob);
    for (let i = 0; i < 2; i++) {
      const m = await duo.send(alice, `v0 ${i}`);
      expect(rawField5(m)).toBeUndefined();
      await expectCode(duo.recv(bob, m), 'ERR_INVALID_MESSAGE');
      // Nothing stored: no session, the one-time and Kyber prekeys are still there.
      expect(snapshotJson(bob)).toBe(before);
    }
    expect(await bob.manager.getSpqrStatus(alice.address)).toBeNull();
    // The reason, at the SPQR layer: below the minimum version.
    const fresh = initialPqRatchetState({
      authKey: new Uint8Array(32).fill(3),
      direction: 'b2a',
      minVersion: 1,
    });
    expectRecvRefused(fresh, new Uint8Array(0), 'minimum-version');
    const tolerant = initialPqRatchetState({
      authKey: new Uint8Array(32).fill(3),
      direction: 'b2a',
      minVersion: 0,
    });
    expect(spqrStatus(spqrRecv(tolerant, new Uint8Array(0)).state)).toEqual(V0_STATUS);
    // A proper V1 session from the same peer is still accepted afterwards.
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    await duo.exchange(alice, 'now with SPQR');
    expect(await bob.manager.getSpqrStatus(alice.address)).toMatchObject({ version: 1 });
  });

  for (const initiatorPolicy of ['require-v1', 'allow-v0'] as const) {
    it(`an initiator (${initiatorPolicy}) whose peer answers without SPQR`, async () => {
      // Bob read Alice's first message with SPQR, then loses it (a pre-SPQR implementation
      // ignoring field 5 would have read an unsalted first message the same way).
      const duo = await makeDuo({ alicePolicy: initiatorPolicy });
      const { alice, bob } = duo;
      await duo.exchange(alice, 'hello');
      setStoredPq(bob, alice.address, PQ_RATCHET_V0);
      const reply = await duo.send(bob, 'reply without SPQR');
      expect(rawField5(reply)).toBeUndefined();
      if (initiatorPolicy === 'require-v1') {
        const before = snapshotJson(alice);
        await expectCode(duo.recv(alice, reply), 'ERR_INVALID_MESSAGE');
        expect(snapshotJson(alice)).toBe(before);
        expectRecvRefused(storedPq(alice, bob.address), new Uint8Array(0), 'minimum-version');
      } else {
        expect(await duo.recv(alice, reply)).toBe('reply without SPQR');
        expect(await alice.manager.getSpqrStatus(bob.address)).toEqual(V0_STATUS);
        for (let i = 0; i < 10; i++) {
          expect(rawField5(await duo.exchange(alice, `a${i}`))).toBeUndefined();
          expect(rawField5(await duo.exchange(bob, `b${i}`))).toBeUndefined();
        }
      }
    });
  }

  for (const policy of ['require-v1', 'allow-v0'] as const) {
    it(`after V1 was settled, a message without field 5 is refused (policy ${policy})`, async () => {
      const duo = await makeDuo({ alicePolicy: policy, bobPolicy: policy });
      const { alice, bob } = duo;
      for (let i = 0; i < 3; i++) {
        await duo.exchange(alice, `a${i}`);
        await duo.exchange(bob, `b${i}`);
      }
      const pqBob = storedPq(bob, alice.address);
      expect(spqrStatus(pqBob)).toMatchObject({ version: 1, negotiating: false });
      expectRecvRefused(pqBob, new Uint8Array(0), 'version-mismatch');

      // Stripped by an attacker (the MAC then fails as well).
      const genuine = await duo.send(alice, 'genuine');
      const before = snapshotJson(bob);
      await expectCode(duo.recv(bob, withField5(genuine, undefined)), 'ERR_INVALID_MESSAGE');
      expect(snapshotJson(bob)).toBe(before);
      // Sent by a peer that dropped SPQR: a correct MAC for an unsalted V0 message.
      const v0 = forgeAsSender(alice, bob.address, undefined, 'none', utf8('downgraded'));
      expect(rawField5(v0)).toBeUndefined();
      await expectCode(duo.recv(bob, v0), 'ERR_INVALID_MESSAGE');
      expect(snapshotJson(bob)).toBe(before);
      // The session is unharmed.
      expect(await duo.recv(bob, genuine)).toBe('genuine');
      await duo.exchange(bob, 'still fine');
      await duo.exchange(alice, 'still fine too');
    });
  }
});

describe('a field 5 of a higher version (spqr 1.6 rules, as libsignal 0.103)', () => {
  const authKey = new Uint8Array(32).fill(0x29);
  const v2 = Uint8Array.of(2, 1, 1, 0);

  it('after negotiation it is refused (version mismatch)', () => {
    const a = initialPqRatchetState({ authKey, direction: 'a2b', minVersion: 1 });
    const b = initialPqRatchetState({ authKey, direction: 'b2a', minVersion: 1 });
    const settled = spqrRecv(b, spqrSend(a, seededRandom(1)).message).state;
    expect(spqrStatus(settled).negotiating).toBe(false);
    expectRecvRefused(settled, v2, 'version-mismatch', 'V2 preamble after negotiation');
    // Without a preamble it is refused as well (libsignal 0.103 refuses it in both phases).
    const before = stateHex(settled);
    expect(() => spqrRecv(settled, Uint8Array.of(2)), 'bare version byte 2').toThrow(SpqrError);
    expect(stateHex(settled)).toBe(before);
  });

  it('while negotiating it gets the epoch-0 key at its index, and negotiation goes on', () => {
    const b = initialPqRatchetState({ authKey, direction: 'b2a', minVersion: 1 });
    const before = stateHex(b);
    const r = spqrRecv(b, v2);
    expect(stateHex(b)).toBe(before);
    // The A2B epoch-0 key #1 of libsignal-extras §D.13.
    expect(r.key && bytesToHex(r.key)).toBe(
      '9bcdfae095d09aa8ab367dd231d1d271fe580b555bcc6f64ff079d53d9a9db5d',
    );
    expect(spqrStatus(r.state).negotiating).toBe(true);
    expect(() => spqrRecv(b, Uint8Array.of(2)), 'bare version byte 2').toThrow(SpqrError);
  });
});
