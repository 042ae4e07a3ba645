/**
 * Helpers of the record tests: real session records with every feature in use (skipped keys,
 * several receiver chains, archived states, a pending prekey), and a hand-built session-record
 * encoder (src/wire ProtobufWriter, field numbers of docs/storage.md / state/session-record.ts) for
 * records a real session cannot produce, such as counts over the bounds.
 */
import { RECORD_FORMAT_VERSION } from '../../src/constants.js';
import { KeyPair, PrivateKey, type SessionRecord } from '../../src/index.js';
import type { SessionState } from '../../src/ratchet/index.js';
import { ProtobufWriter } from '../../src/wire/index.js';
import {
  decryptText,
  encryptText,
  establish,
  makeTestParty,
  recordOf,
  send,
  type TestParty,
} from '../support/session-helpers.js';

/** Records of a busy conversation between Alice and Bob. */
export interface BusyRecords {
  readonly alice: TestParty;
  readonly bob: TestParty;
  /** Alice's record for Bob: 5 receiver chains with skipped keys, several archived states. */
  readonly aliceRecord: SessionRecord;
  /** Bob's record for Alice: a fresh pending (initiator) state plus archived busy states. */
  readonly bobRecord: SessionRecord;
  /** Alice's record right after processing a bundle: pending prekey, one receiver chain. */
  readonly pendingRecord: SessionRecord;
}

/**
 * Alice and Bob exchange messages out of order over seven ratchet turns (skipped keys on both
 * sides, receiver chains capped at 5), Alice re-initiates twice (archived states), and Bob
 * finally processes a fresh bundle of Alice (pending prekey on top of an archived busy state).
 */
export async function busyRecords(): Promise<BusyRecords> {
  const alice = makeTestParty('alice');
  const bob = makeTestParty('bob');
  const carol = makeTestParty('carol');
  await carol.manager.processPreKeyBundle(bob.address, await bob.bundle());
  const pendingRecord = await recordOf(carol, bob);

  await establish(alice, bob);
  for (let round = 0; round < 2; round++) {
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    await send(alice, bob, `re-initiation ${String(round)}`);
    await send(bob, alice, `ack ${String(round)}`);
  }
  for (let turn = 0; turn < 7; turn++) {
    const fromAlice = [];
    for (let i = 0; i < 4; i++)
      fromAlice.push(await encryptText(alice, bob, `a${String(turn)}.${String(i)}`));
    // Deliver the last and the second: two keys stay skipped.
    await decryptText(bob, alice, fromAlice[3]!);
    await decryptText(bob, alice, fromAlice[1]!);
    const fromBob = [];
    for (let i = 0; i < 3; i++)
      fromBob.push(await encryptText(bob, alice, `b${String(turn)}.${String(i)}`));
    await decryptText(alice, bob, fromBob[2]!);
  }
  await bob.manager.processPreKeyBundle(alice.address, await alice.bundle());
  return {
    alice,
    bob,
    aliceRecord: await recordOf(alice, bob),
    bobRecord: await recordOf(bob, alice),
    pendingRecord,
  };
}

/** Options of {@link handBuiltState}. */
export interface HandBuiltStateOptions {
  readonly chains?: number;
  readonly skippedPerChain?: number;
  readonly pending?: boolean;
  readonly version?: number;
}

const local = KeyPair.generate().publicKey;
const remote = KeyPair.generate().publicKey;
const sender = KeyPair.generate();
const base = KeyPair.generate().publicKey;
const chainRatchetKeys = Array.from({ length: 8 }, () => KeyPair.generate().publicKey);
const bytes32 = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

/** The protobuf of one session state, built field by field (no SPQR state: a V0 session). */
export function handBuiltState(o: HandBuiltStateOptions = {}): Uint8Array {
  const w = new ProtobufWriter()
    .uint32(1, o.version ?? 4)
    .bytes(2, local.serialize())
    .bytes(3, remote.serialize())
    .bytes(4, bytes32(0xa1))
    .uint32(5, 0)
    .bytes(
      6,
      new ProtobufWriter()
        .bytes(1, sender.publicKey.serialize())
        .bytes(2, sender.privateKey.serialize())
        .bytes(3, bytes32(0xa2))
        .uint32(4, 3)
        .finish(),
    );
  const skipped = o.skippedPerChain ?? 0;
  for (let c = 0; c < (o.chains ?? 0); c++) {
    const cw = new ProtobufWriter()
      .bytes(1, (chainRatchetKeys[c % chainRatchetKeys.length] ?? base).serialize())
      .bytes(2, bytes32(0xb0 + c))
      .uint32(3, skipped + 1);
    for (let k = skipped - 1; k >= 0; k--) {
      cw.bytes(
        4,
        new ProtobufWriter()
          .uint32(1, k)
          .bytes(2, bytes32(k & 0xff))
          .finish(),
      );
    }
    w.bytes(7, cw.finish());
  }
  if (o.pending === true) {
    w.bytes(
      8,
      new ProtobufWriter()
        .uint32(1, 5)
        .uint32(2, 6)
        .bytes(3, base.serialize())
        .uint64(4, 1_700_000_000n)
        .uint32(5, 7)
        .bytes(6, new Uint8Array(1569).fill(8))
        .finish(),
    );
  }
  w.uint32(9, 1).uint32(10, 2).bytes(11, base.serialize());
  return w.finish();
}

/** `format version ‖ Record { 1 current, 2* archived }`. */
export function handBuiltRecord(
  current: Uint8Array | undefined,
  archived: readonly Uint8Array[] = [],
  formatVersion: number = RECORD_FORMAT_VERSION,
): Uint8Array {
  const w = new ProtobufWriter();
  if (current !== undefined) w.bytes(1, current);
  for (const a of archived) w.bytes(2, a);
  const body = w.finish();
  const out = new Uint8Array(body.length + 1);
  out[0] = formatVersion;
  out.set(body, 1);
  return out;
}

/** Every byte array reachable in a session state (keys, chain keys, seeds, SPQR state …). */
export function bytesInState(state: SessionState): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Uint8Array) {
      if (v.length >= 16 && v.some((b) => b !== 0)) out.push(v.slice());
      return;
    }
    if (v instanceof PrivateKey) {
      out.push(v.serialize());
      return;
    }
    if (v instanceof Map) {
      for (const x of v.values()) walk(x);
      return;
    }
    for (const x of Object.values(v)) walk(x);
  };
  walk(state);
  return out;
}
