/**
 * Records stored by earlier chiffre versions keep loading and working: a fixture written with
 * stored record format 1 (before SPQR) is loaded, its in-flight messages decrypt, and the
 * conversation continues in both directions.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import {
  IdentityKeyPair,
  InMemoryProtocolStore,
  ProtocolAddress,
  SessionManager,
  SessionRecord,
} from '../../src/index.js';

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

function restore(me: Side, peer: Side): { manager: SessionManager; peer: ProtocolAddress } {
  const store = new InMemoryProtocolStore(
    IdentityKeyPair.deserialize(bytes(me.identity)),
    me.registrationId,
  );
  const peerAddress = new ProtocolAddress(peer.name, peer.deviceId);
  const record = SessionRecord.deserialize(bytes(me.session));
  store.storeSession(peerAddress, record);
  return {
    manager: new SessionManager({ store, localAddress: new ProtocolAddress(me.name, me.deviceId) }),
    peer: peerAddress,
  };
}

test('format-1 records load and the conversation continues', async () => {
  expect(fixture.recordFormat).toBe(1);
  expect(bytes(fixture.alice.session)[0]).toBe(1);
  const alice = restore(fixture.alice, fixture.bob);
  const bob = restore(fixture.bob, fixture.alice);
  // The in-flight messages, delivered late and out of order.
  for (const m of [...fixture.undelivered].reverse()) {
    expect(text(await bob.manager.decrypt(bob.peer, { type: m.type, body: bytes(m.body) }))).toBe(
      m.plaintext,
    );
  }
  for (let i = 0; i < 3; i++) {
    const fromBob = await bob.manager.encrypt(
      bob.peer,
      new TextEncoder().encode(`bob ${String(i)}`),
    );
    expect(text(await alice.manager.decrypt(alice.peer, fromBob))).toBe(`bob ${String(i)}`);
    const fromAlice = await alice.manager.encrypt(
      alice.peer,
      new TextEncoder().encode(`alice ${String(i)}`),
    );
    expect(text(await bob.manager.decrypt(bob.peer, fromAlice))).toBe(`alice ${String(i)}`);
  }
});
