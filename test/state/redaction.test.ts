/**
 * Secrets out of logs (STYLE.md 1.8 / 1.11): JSON.stringify, String() and util.inspect of records
 * (and of the key objects they hold, and of the store) show no private key, root key, chain key,
 * message-key seed or SPQR secret, in hex (either case) or base64.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  IdentityKeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  SessionRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { expectNoSecrets, renderings } from '../support/session-helpers.js';
import { type BusyRecords, busyRecords, bytesInState } from './state-helpers.js';

let busy: BusyRecords;
beforeAll(async () => {
  busy = await busyRecords();
});

function secretsOf(record: SessionRecord): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of record.allStates()) {
    out.push(
      s.rootKey,
      s.senderChain.chainKey.key,
      s.senderChain.ratchetKeyPair.privateKey.serialize(),
    );
    for (const c of s.receiverChains) {
      out.push(c.chainKey.key);
      for (const k of c.skippedKeys) out.push(k.key);
    }
    out.push(...bytesInState(s));
  }
  return out;
}

describe('SessionRecord renderings', () => {
  it.each(['aliceRecord', 'bobRecord', 'pendingRecord'] as const)('%s leaks no secret', (which) => {
    const record = busy[which];
    const secrets = secretsOf(record);
    expect(secrets.length).toBeGreaterThan(5);
    expectNoSecrets(record, secrets);
    // And a freshly loaded copy of it.
    expectNoSecrets(SessionRecord.deserialize(record.serialize()), secrets);
  });

  it('renders as a short summary', () => {
    const [json, str, insp] = renderings(busy.aliceRecord);
    expect(JSON.parse(json!)).toEqual({
      type: 'SessionRecord',
      hasCurrentState: true,
      previousStates: busy.aliceRecord.previousStates.length,
      secrets: '<redacted>',
    });
    expect(str).toContain('<redacted>');
    expect(insp).toBe(str);
  });

  it('the key objects inside a state leak nothing either', () => {
    const s = busy.aliceRecord.currentState!;
    const priv = s.senderChain.ratchetKeyPair.privateKey.serialize();
    expectNoSecrets(s.senderChain.ratchetKeyPair, [priv]);
    expectNoSecrets(s.senderChain.ratchetKeyPair.privateKey, [priv]);
  });

  it('the store renders without records or identity private key', () => {
    const { alice } = busy;
    const secrets = [...secretsOf(busy.aliceRecord), alice.identity.privateKey.serialize()];
    expectNoSecrets(alice.store, secrets);
    expectNoSecrets(alice.identity, [alice.identity.privateKey.serialize()]);
  });
});

describe('prekey record renderings', () => {
  const identity = IdentityKeyPair.generate();

  it('PreKeyRecord', () => {
    const r = PreKeyRecord.generate(1);
    const priv = r.keyPair.privateKey.serialize();
    expectNoSecrets(r, [priv]);
    expectNoSecrets(r.keyPair, [priv]);
    expect(JSON.parse(renderings(r)[0]!)).toMatchObject({
      type: 'PreKeyRecord',
      id: 1,
      privateKey: '<redacted>',
    });
  });

  it('SignedPreKeyRecord', () => {
    const r = SignedPreKeyRecord.generate(identity, 2, 3);
    const priv = r.keyPair.privateKey.serialize();
    expectNoSecrets(r, [priv, identity.privateKey.serialize()]);
    expectNoSecrets(SignedPreKeyRecord.deserialize(r.serialize()), [priv]);
  });

  it('KyberPreKeyRecord (one-time and last resort)', () => {
    for (const lastResort of [false, true]) {
      const r = KyberPreKeyRecord.generate(identity, 4, 5, { lastResort });
      const sk = r.keyPair.secretKey.serialize();
      // The secret polynomial ŝ (bytes 1..1536) and z (the last 32 bytes); the rest of the
      // serialized secret key embeds the public key, which may be shown.
      const secrets = [sk.subarray(1, 1537), sk.subarray(1, 33), sk.subarray(sk.length - 32)];
      expectNoSecrets(r, secrets);
      expectNoSecrets(r.keyPair, secrets);
      expectNoSecrets(r.keyPair.secretKey, secrets);
      expectNoSecrets(KyberPreKeyRecord.deserialize(r.serialize()), secrets);
    }
  });
});
