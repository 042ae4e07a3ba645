/**
 * Fuzz targets: every decoder and every decrypt path of chiffre, each with valid seeds from the
 * deterministic fixtures and an oracle.
 *
 * The oracle of every target: the operation either succeeds (and a decrypted plaintext is the one
 * that was sent) or throws a chiffre error (`isSignalError`); never any other exception; a failed
 * operation leaves every store byte-for-byte unchanged (`InMemoryProtocolStore.snapshot()`). Some
 * targets add their own: a mutated SignalMessage must never decrypt (the MAC covers all of it), a
 * replay must never decrypt, decoded records re-serialize to a fixed point.
 *
 * Inputs are plain bytes so that they can live in the corpus. Targets with several fixtures
 * (scenarios) use the first input byte to pick one (modulo their number); the mutator leaves that
 * byte alone (`prefix`).
 */
import {
  type CiphertextMessage,
  IdentityKeyPair,
  InMemoryProtocolStore,
  isSignalError,
  KemPublicKey,
  KyberPreKeyRecord,
  type PreKeyBundle,
  PreKeyRecord,
  ProtocolAddress,
  PublicKey,
  SessionManager,
  SessionRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { aes256CbcEncrypt, hmacSha256 } from '../../src/primitives/index.js';
import {
  deriveMessageKeys,
  ratchetReceiveStep,
  type SessionState,
} from '../../src/ratchet/index.js';
import { decryptWithState } from '../../src/session/index.js';
import {
  decodePqRatchetState,
  decodeSpqrMessage,
  encodeSpqrMessage,
  SpqrError,
  spqrRecv,
} from '../../src/spqr/index.js';
import {
  attachMac,
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodeSignalMessageBody,
  type SignalMessage,
} from '../../src/wire/index.js';
import { type Fixtures, knownKey, NOW, partyOf, receiverStore, type Scenario } from './fixtures.js';
import {
  concat,
  joinFields,
  type Layout,
  type RawField,
  splitFields,
  varint,
  withContent,
} from './mutator.js';
import { deterministicRandom } from './rng.js';

/** A disallowed outcome. */
export class FuzzFailure extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(`${kind}: ${message}`);
    this.name = 'FuzzFailure';
    this.kind = kind;
  }
}

/** One fuzz target. */
export interface FuzzTarget {
  readonly name: string;
  readonly description: string;
  /** Layout of the mutable part (after the scenario prefix). */
  readonly layout: Layout;
  /** Number of leading scenario-selector bytes the mutator keeps (0 or 1). */
  readonly prefix: 0 | 1;
  /** Valid inputs (prefix included). */
  readonly seeds: readonly Uint8Array[];
  /** Run one input; returns the outcome label, throws {@link FuzzFailure}. */
  run(input: Uint8Array): Promise<string>;
}

// ------------------------------------------------------------------------------------------
// Oracle helpers
// ------------------------------------------------------------------------------------------

/** A short description of an unexpected exception, with its first stack frame in src/. */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `non-Error thrown: ${typeof e} ${String(e).slice(0, 80)}`;
  const frame = (e.stack ?? '')
    .split('\n')
    .find((l) => l.includes('/src/'))
    ?.trim()
    .replace(/^at /, '')
    .replace(/.*\/(src\/[^:)]+:\d+).*/, '$1');
  return `${e.name}: ${e.message.slice(0, 160)}${frame === undefined ? '' : ` (at ${frame})`}`;
}

/** The code of a chiffre error, or a failure for anything else. */
function codeOf(e: unknown, where: string): string {
  if (e instanceof FuzzFailure) throw e;
  if (isSignalError(e)) return e.code;
  throw new FuzzFailure('exception', `${where}: ${describeError(e)}`);
}

/** Run a synchronous decoder: 'ok' or a chiffre error code. */
function decodeOutcome<T>(
  where: string,
  fn: () => T,
): { ok: true; value: T } | { ok: false; code: string } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, code: codeOf(e, where) };
  }
}

function snapshotDiff(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string | undefined {
  for (const [k, v] of before) {
    if (!after.has(k)) return `${k} removed`;
    if (after.get(k) !== v) return `${k} changed`;
  }
  for (const k of after.keys()) if (!before.has(k)) return `${k} added`;
  return undefined;
}

/**
 * Run a store operation: its value, or the chiffre error code after checking that `stores` are
 * unchanged.
 */
async function guarded<T>(
  where: string,
  stores: readonly InMemoryProtocolStore[],
  op: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  const before = stores.map((s) => s.snapshot());
  try {
    return { ok: true, value: await op() };
  } catch (e) {
    const code = codeOf(e, where);
    stores.forEach((s, i) => {
      const diff = snapshotDiff(before[i] as ReadonlyMap<string, string>, s.snapshot());
      if (diff !== undefined)
        throw new FuzzFailure('store-changed', `${where} failed with ${code} but ${diff}`);
    });
    return { ok: false, code };
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function expectPlaintext(where: string, got: Uint8Array, want: Uint8Array): void {
  if (!bytesEqual(got, want))
    throw new FuzzFailure('wrong-plaintext', `${where} returned a different plaintext`);
}

/**
 * The oracle of a successful decrypt of fuzzed bytes: the SignalMessage inside is one that was
 * really sent (the MAC covers all of it), the plaintext is the one it carried, and the receiver
 * had not already decrypted it (no replay).
 */
function checkDecrypted(
  f: Fixtures,
  where: string,
  s: Scenario,
  inner: Uint8Array,
  plaintext: Uint8Array,
): void {
  const k = f.known.get(knownKey(inner));
  if (k === undefined)
    throw new FuzzFailure('forgery', `${where}: a SignalMessage that was never sent decrypted`);
  expectPlaintext(where, plaintext, k.plaintext);
  if (
    s.record !== undefined &&
    k.receiver === s.receiver &&
    k.sender === s.sender &&
    k.seq < s.seq
  ) {
    throw new FuzzFailure(
      'replay',
      `${where}: a message the receiver had already decrypted decrypted again`,
    );
  }
}

const REPLY = new TextEncoder().encode('fuzz reply');

/** After a successful decrypt: the session must still encrypt (or fail with a typed error). */
async function replyWorks(
  where: string,
  store: InMemoryProtocolStore,
  manager: SessionManager,
  to: ProtocolAddress,
): Promise<void> {
  await guarded(`${where} then encrypt`, [store], () => manager.encrypt(to, REPLY));
}

function selected<T>(items: readonly T[], input: Uint8Array): { item: T; rest: Uint8Array } {
  return { item: items[(input[0] ?? 0) % items.length] as T, rest: input.subarray(1) };
}

function withPrefix(i: number, bytes: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(i), bytes);
}

function innerOf(m: CiphertextMessage): Uint8Array {
  return m.type === 'prekey' ? decodePreKeySignalMessage(m.body).message : m.body;
}

// ------------------------------------------------------------------------------------------
// Decrypt with a scenario's receiver
// ------------------------------------------------------------------------------------------

/** Decrypt `body` (as `type`) at the scenario's receiver, built fresh from `record`. */
async function decryptAt(
  f: Fixtures,
  where: string,
  s: Scenario,
  type: CiphertextMessage['type'],
  body: Uint8Array,
  record: Uint8Array | undefined,
): Promise<{ label: string; plaintext?: Uint8Array }> {
  const sender = partyOf(f, s.sender);
  const { store, manager } = receiverStore(
    f,
    s.receiver,
    { address: sender.address, identityKey: sender.identity.publicKey },
    record,
  );
  const r = await guarded(where, [store], () => manager.decrypt(sender.address, { type, body }));
  if (!r.ok) return { label: r.code };
  await replyWorks(where, store, manager, sender.address);
  return { label: 'decrypted', plaintext: r.value };
}

// ------------------------------------------------------------------------------------------
// SPQR field-5 forging: a hostile but authenticated peer
// ------------------------------------------------------------------------------------------

interface ForgeContext {
  readonly state: SessionState;
  readonly seed: Uint8Array;
  readonly parsed: SignalMessage;
}

const forgeCache = new WeakMap<Scenario, ForgeContext | null>();

function forgeContext(f: Fixtures, s: Scenario): ForgeContext | null {
  const hit = forgeCache.get(s);
  if (hit !== undefined) return hit;
  let ctx: ForgeContext | null = null;
  if (s.record !== undefined) {
    const record = SessionRecord.deserialize(s.record);
    const parsed = decodeSignalMessage(innerOf(s.message));
    const c = {
      localAddress: partyOf(f, s.receiver).address,
      remoteAddress: partyOf(f, s.sender).address,
      nowSeconds: Math.floor(NOW / 1000),
      random: deterministicRandom('forge'),
    };
    for (const state of record.allStates()) {
      try {
        decryptWithState(state, parsed, c, 'whisper');
      } catch {
        continue;
      }
      const step = ratchetReceiveStep(state, parsed.ratchetKey, parsed.counter, {
        random: c.random,
      });
      ctx = { state, seed: step.seed, parsed };
      break;
    }
  }
  forgeCache.set(s, ctx);
  return ctx;
}

/**
 * The scenario's SignalMessage with field 5 replaced by `field5`, authenticated as the sender
 * would: ciphertext and MAC under the message keys the receiver derives for this field 5. When the
 * receiver's SPQR refuses `field5`, the message keeps the old ciphertext and MAC (the refusal
 * comes first anyway).
 */
export function forgeWithField5(f: Fixtures, s: Scenario, field5: Uint8Array): Uint8Array {
  const ctx = forgeContext(f, s);
  const parsed = ctx?.parsed ?? decodeSignalMessage(innerOf(s.message));
  const fields = {
    messageVersion: parsed.messageVersion,
    ratchetKey: parsed.ratchetKey,
    counter: parsed.counter,
    previousCounter: parsed.previousCounter,
    ciphertext: parsed.ciphertext,
    pqRatchet: field5.length === 0 ? undefined : field5,
    addresses: parsed.addresses,
  };
  if (ctx !== null) {
    let salt: Uint8Array | undefined;
    let refused = false;
    try {
      salt = spqrRecv(ctx.state.pqRatchet, field5).key;
    } catch {
      // Refused (or crashed: the real decrypt will meet the same input and report it).
      refused = true;
    }
    if (!refused) {
      const keys = deriveMessageKeys(ctx.seed.slice(), salt);
      const body = encodeSignalMessageBody({
        ...fields,
        ciphertext: aes256CbcEncrypt(keys.cipherKey, keys.iv, s.plaintext),
      });
      const mac = hmacSha256(
        keys.macKey,
        concat(
          ctx.state.remoteIdentityKey.serialize(),
          ctx.state.localIdentityKey.serialize(),
          body,
        ),
      ).slice(0, 8);
      return attachMac(body, mac);
    }
  }
  return attachMac(encodeSignalMessageBody(fields), parsed.mac);
}

// ------------------------------------------------------------------------------------------
// Records: re-serialization fixed point and embedding
// ------------------------------------------------------------------------------------------

interface Serializable {
  serialize(): Uint8Array;
}

/** `deserialize(serialize(x))` must not throw and must serialize to the same bytes. */
function fixedPoint<T extends Serializable>(
  where: string,
  value: T,
  deserialize: (b: Uint8Array) => T,
): void {
  let once: Uint8Array;
  let twice: Uint8Array;
  try {
    once = value.serialize();
    twice = deserialize(once).serialize();
  } catch (e) {
    throw new FuzzFailure(
      'roundtrip',
      `${where}: re-serializing a decoded record threw ${describeError(e)}`,
    );
  }
  if (!bytesEqual(once, twice))
    throw new FuzzFailure('roundtrip', `${where}: serialize ∘ deserialize is not a fixed point`);
}

/** Replace field `path` (nested, length-delimited) of a versioned record; `undefined` content removes it. */
function replaceNested(
  record: Uint8Array,
  path: readonly number[],
  content: Uint8Array | undefined,
): Uint8Array {
  const rec = (bytes: Uint8Array, depth: number): Uint8Array => {
    const fields = splitFields(bytes) ?? [];
    const tag = path[depth] as number;
    const at = fields.findIndex((fd) => fd.tag === tag && fd.wire === 2);
    const out: RawField[] = fields.slice();
    if (depth === path.length - 1) {
      if (content === undefined) {
        if (at >= 0) out.splice(at, 1);
      } else if (at >= 0) {
        out[at] = withContent(out[at] as RawField, content);
      } else {
        out.push({
          tag,
          wire: 2,
          key: varint(tag * 8 + 2),
          len: varint(content.length),
          value: content,
        });
      }
      return joinFields(out);
    }
    if (at < 0) return bytes;
    out[at] = withContent(out[at] as RawField, rec((out[at] as RawField).value, depth + 1));
    return joinFields(out);
  };
  return concat(record.subarray(0, 1), rec(record.subarray(1), 0));
}

/** Field `path` of a versioned record (empty when absent). */
function nestedField(record: Uint8Array, path: readonly number[]): Uint8Array {
  let bytes = record.subarray(1);
  for (const tag of path) {
    const fd = (splitFields(bytes) ?? []).find((x) => x.tag === tag && x.wire === 2);
    if (fd === undefined) return new Uint8Array(0);
    bytes = fd.value;
  }
  return bytes;
}

/** Use a decoded session record: load, decrypt the scenario's message, encrypt. */
async function useSessionRecord(
  f: Fixtures,
  where: string,
  s: Scenario,
  bytes: Uint8Array,
): Promise<string> {
  const d = decodeOutcome(`${where} deserialize`, () => SessionRecord.deserialize(bytes));
  if (!d.ok) return `deserialize ${d.code}`;
  fixedPoint(where, d.value, (b) => SessionRecord.deserialize(b));
  // Archived states are decoded on first use, not on load: decode them here too.
  const archived = decodeOutcome(`${where} archived states`, () => d.value.previousStates);
  const sender = partyOf(f, s.sender);
  const { store, manager } = receiverStore(f, s.receiver, undefined, undefined);
  store.saveIdentity(sender.address, sender.identity.publicKey);
  store.storeSession(sender.address, d.value);
  const info = await guarded(`${where} status`, [store], async () => {
    await manager.hasSession(sender.address);
    return manager.getSpqrStatus(sender.address);
  });
  const r = await guarded(`${where} decrypt`, [store], () =>
    manager.decrypt(sender.address, s.message),
  );
  if (r.ok) expectPlaintext(where, r.value, s.plaintext);
  const e = await guarded(`${where} encrypt`, [store], () =>
    manager.encrypt(sender.address, REPLY),
  );
  return `${archived.ok ? '' : `archived ${archived.code}, `}${info.ok ? '' : `status ${info.code}, `}${r.ok ? 'decrypted' : r.code}, encrypt ${e.ok ? 'ok' : e.code}`;
}

// ------------------------------------------------------------------------------------------
// Bundles as bytes: { 1 regId, 2 deviceId, 3 preKeyId, 4 preKey, 5 spkId, 6 spk, 7 spkSig,
//                     8 kyberId, 9 kyber, 10 kyberSig, 11 identity }
// ------------------------------------------------------------------------------------------

/** Encode a bundle in the fuzzer's own protobuf layout (what a server might deliver). */
export function encodeBundle(b: PreKeyBundle): Uint8Array {
  const parts: Uint8Array[] = [];
  const u = (tag: number, v: number): void => {
    parts.push(varint(tag * 8), varint(v));
  };
  const by = (tag: number, v: Uint8Array): void => {
    parts.push(varint(tag * 8 + 2), varint(v.length), v);
  };
  u(1, b.registrationId);
  u(2, b.deviceId);
  if (b.preKeyId !== undefined && b.preKey !== undefined) {
    u(3, b.preKeyId);
    by(4, b.preKey.serialize());
  }
  u(5, b.signedPreKeyId);
  by(6, b.signedPreKey.serialize());
  by(7, b.signedPreKeySignature);
  u(8, b.kyberPreKeyId);
  by(9, b.kyberPreKey.serialize());
  by(10, b.kyberPreKeySignature);
  by(11, b.identityKey.serialize());
  return concat(...parts);
}

type BundleDecode = { ok: true; bundle: PreKeyBundle } | { ok: false; label: string };

/**
 * Decode a fuzzed bundle as an application would: numbers as u32, keys through chiffre's own
 * `deserialize` (which may only throw chiffre errors).
 */
function decodeBundle(bytes: Uint8Array): BundleDecode {
  const fields = splitFields(bytes);
  if (fields === undefined) return { ok: false, label: 'harness: unparseable bundle' };
  const last = (tag: number): RawField | undefined => fields.filter((x) => x.tag === tag).pop();
  const num = (tag: number): number | undefined => {
    const fd = last(tag);
    if (fd === undefined || fd.wire !== 0) return undefined;
    let v = 0n;
    for (let i = 0; i < fd.value.length; i++)
      v |= BigInt((fd.value[i] as number) & 0x7f) << BigInt(7 * i);
    return Number(v & 0xffff_ffffn);
  };
  const bytesOf = (tag: number): Uint8Array | undefined => {
    const fd = last(tag);
    return fd === undefined || fd.wire !== 2 ? undefined : fd.value.slice();
  };
  const regId = num(1);
  const deviceId = num(2);
  const spkId = num(5);
  const kyberId = num(8);
  const spk = bytesOf(6);
  const spkSig = bytesOf(7);
  const kyber = bytesOf(9);
  const kyberSig = bytesOf(10);
  const identity = bytesOf(11);
  if (
    regId === undefined ||
    deviceId === undefined ||
    spkId === undefined ||
    kyberId === undefined ||
    spk === undefined ||
    spkSig === undefined ||
    kyber === undefined ||
    kyberSig === undefined ||
    identity === undefined
  ) {
    return { ok: false, label: 'harness: incomplete bundle' };
  }
  const pre = bytesOf(4);
  const preId = num(3);
  const keys = decodeOutcome('bundle keys', () => ({
    preKey: pre === undefined ? undefined : PublicKey.deserialize(pre),
    signedPreKey: PublicKey.deserialize(spk),
    kyberPreKey: KemPublicKey.deserialize(kyber),
    identityKey: PublicKey.deserialize(identity),
  }));
  if (!keys.ok) return { ok: false, label: `key ${keys.code}` };
  return {
    ok: true,
    bundle: {
      registrationId: regId,
      deviceId: Math.max(1, deviceId & 0x7fff_ffff),
      // Passed as found: an id without a key (or the reverse) must be refused, typed.
      preKeyId: preId,
      preKey: keys.value.preKey,
      signedPreKeyId: spkId,
      signedPreKey: keys.value.signedPreKey,
      signedPreKeySignature: spkSig,
      kyberPreKeyId: kyberId,
      kyberPreKey: keys.value.kyberPreKey,
      kyberPreKeySignature: kyberSig,
      identityKey: keys.value.identityKey,
    },
  };
}

// ------------------------------------------------------------------------------------------
// The targets
// ------------------------------------------------------------------------------------------

/** Build every target over the fixtures. */
export function makeTargets(f: Fixtures): FuzzTarget[] {
  const whisper = f.whisper;
  const withField5 = whisper.filter(
    (s) => decodeSignalMessage(s.message.body).pqRatchet !== undefined,
  );
  const inner = [...f.firstContact, ...f.repeatedPreKey, ...whisper].map((s) => innerOf(s.message));
  const field5 = new Map<string, Uint8Array>();
  for (const m of inner) {
    const pq = decodeSignalMessage(m).pqRatchet;
    if (pq !== undefined) field5.set(Buffer.from(pq).toString('hex'), pq);
  }
  const prekeyBodies = [...f.firstContact, ...f.repeatedPreKey].map((s) => s.message.body);
  const withRecord = whisper.filter((s) => s.record !== undefined);
  // The repeated-prekey scenario, and the first message replayed against the session it created.
  const existing: Scenario[] = [...f.repeatedPreKey];
  const afterFirst = f.repeatedPreKey[0];
  const first = f.firstContact[0];
  if (afterFirst !== undefined && first !== undefined) {
    existing.push({
      ...first,
      label: 'replayed first PreKeySignalMessage',
      record: afterFirst.record,
      seq: afterFirst.seq,
    });
  }

  const aliceForBundles = (): {
    store: InMemoryProtocolStore;
    manager: SessionManager;
    address: ProtocolAddress;
  } => {
    const identity = IdentityKeyPair.generate(deterministicRandom('fuzz-bundle-initiator'));
    const store = new InMemoryProtocolStore(identity, 4444);
    const address = new ProtocolAddress('9d0652a3-dcc3-4d11-975f-00000000d0d0', 1);
    const manager = new SessionManager({
      store,
      localAddress: address,
      random: deterministicRandom('fuzz-bundle-initiator:ops'),
      now: () => NOW,
    });
    return { store, manager, address };
  };

  const targets: FuzzTarget[] = [
    {
      name: 'signal-message',
      description: 'decodeSignalMessage on inner SignalMessages of every kind',
      layout: 'signal-message',
      prefix: 0,
      seeds: inner.filter((_, i) => i % 3 === 0),
      run(input) {
        const r = decodeOutcome('decodeSignalMessage', () => decodeSignalMessage(input));
        return Promise.resolve(r.ok ? 'ok' : r.code);
      },
    },
    {
      name: 'prekey-message',
      description: 'decodePreKeySignalMessage on first-contact and repeated PreKeySignalMessages',
      layout: 'versioned-protobuf',
      prefix: 0,
      seeds: prekeyBodies,
      run(input) {
        const r = decodeOutcome('decodePreKeySignalMessage', () =>
          decodePreKeySignalMessage(input),
        );
        return Promise.resolve(r.ok ? 'ok' : r.code);
      },
    },
    {
      name: 'spqr-message',
      description:
        'decodeSpqrMessage on every field-5 payload type (SpqrError "malformed" allowed)',
      layout: 'spqr',
      prefix: 0,
      seeds: [...field5.values()],
      run(input) {
        let decoded;
        try {
          decoded = decodeSpqrMessage(input);
        } catch (e) {
          if (e instanceof SpqrError && e.reason === 'malformed')
            return Promise.resolve('spqr malformed');
          throw new FuzzFailure('exception', `decodeSpqrMessage: ${describeError(e)}`);
        }
        let again;
        try {
          again = decodeSpqrMessage(encodeSpqrMessage(decoded));
        } catch (e) {
          throw new FuzzFailure(
            'roundtrip',
            `encodeSpqrMessage(decoded) does not decode: ${describeError(e)}`,
          );
        }
        if (
          JSON.stringify(again, (_k, v: unknown) =>
            v instanceof Uint8Array ? Array.from(v) : v,
          ) !==
          JSON.stringify(decoded, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v))
        ) {
          throw new FuzzFailure('roundtrip', 'decode(encode(decoded)) differs');
        }
        return Promise.resolve(`ok ${decoded.payload.type}`);
      },
    },
    {
      name: 'decrypt-whisper',
      description:
        'SessionManager.decrypt of SignalMessages against the receiver state they belong to',
      layout: 'signal-message',
      prefix: 1,
      seeds: whisper.map((s, i) => withPrefix(i, s.message.body)),
      async run(input) {
        const { item: s, rest } = selected(whisper, input);
        const r = await decryptAt(f, 'decrypt whisper', s, 'whisper', rest, s.record);
        if (r.plaintext !== undefined) checkDecrypted(f, 'decrypt whisper', s, rest, r.plaintext);
        return r.label;
      },
    },
    {
      name: 'decrypt-prekey-new',
      description:
        'SessionManager.decrypt of first-contact PreKeySignalMessages (new session, prekeys consumed)',
      layout: 'versioned-protobuf',
      prefix: 1,
      seeds: f.firstContact.map((s, i) => withPrefix(i, s.message.body)),
      async run(input) {
        const { item: s, rest } = selected(f.firstContact, input);
        const r = await decryptAt(f, 'decrypt first contact', s, 'prekey', rest, undefined);
        if (r.plaintext !== undefined) {
          checkDecrypted(
            f,
            'decrypt first contact',
            s,
            decodePreKeySignalMessage(rest).message,
            r.plaintext,
          );
        }
        return r.label;
      },
    },
    {
      name: 'decrypt-prekey-existing',
      description:
        'SessionManager.decrypt of a PreKeySignalMessage whose session exists (repeat and replay)',
      layout: 'versioned-protobuf',
      prefix: 1,
      seeds: existing.map((s, i) => withPrefix(i, s.message.body)),
      async run(input) {
        const { item: s, rest } = selected(existing, input);
        const r = await decryptAt(f, 'decrypt repeated prekey', s, 'prekey', rest, s.record);
        if (r.plaintext !== undefined) {
          checkDecrypted(
            f,
            'decrypt repeated prekey',
            s,
            decodePreKeySignalMessage(rest).message,
            r.plaintext,
          );
        }
        return r.label;
      },
    },
    {
      name: 'decrypt-spqr-authenticated',
      description:
        'field-5 payloads from an authenticated hostile peer (MAC and ciphertext recomputed)',
      layout: 'spqr',
      prefix: 1,
      seeds: withField5.map((s, i) =>
        withPrefix(i, decodeSignalMessage(s.message.body).pqRatchet as Uint8Array),
      ),
      async run(input) {
        const { item: s, rest } = selected(withField5, input);
        const body = forgeWithField5(f, s, rest);
        const r = await decryptAt(f, 'decrypt forged field 5', s, 'whisper', body, s.record);
        if (r.plaintext !== undefined)
          expectPlaintext('decrypt forged field 5', r.plaintext, s.plaintext);
        return r.label;
      },
    },
    {
      name: 'record-session',
      description:
        'SessionRecord.deserialize, re-serialization, then decrypt and encrypt with the record',
      layout: 'versioned-protobuf',
      prefix: 1,
      seeds: withRecord.map((s, i) => withPrefix(i, s.record as Uint8Array)),
      run(input) {
        const { item: s, rest } = selected(withRecord, input);
        return useSessionRecord(f, 'session record', s, rest);
      },
    },
    {
      name: 'record-spqr-state',
      description:
        "the SPQR state of a record's current session (decodePqRatchetState, then in use)",
      layout: 'protobuf',
      prefix: 1,
      seeds: withRecord.map((s, i) => withPrefix(i, nestedField(s.record as Uint8Array, [1, 12]))),
      async run(input) {
        const { item: s, rest } = selected(withRecord, input);
        const direct = decodeOutcome('decodePqRatchetState', () => decodePqRatchetState(rest));
        const record = replaceNested(
          s.record as Uint8Array,
          [1, 12],
          rest.length === 0 ? undefined : rest,
        );
        const used = await useSessionRecord(f, 'record with SPQR state', s, record);
        return `${direct.ok ? 'ok' : direct.code} / ${used}`;
      },
    },
    ...prekeyRecordTargets(f),
    {
      name: 'bundle',
      description:
        'processPreKeyBundle with mutated keys, signatures and ids; then encrypt and deliver',
      layout: 'protobuf',
      prefix: 1,
      seeds: f.bundles.map((b, i) => withPrefix(i, encodeBundle(b))),
      async run(input) {
        const { rest } = selected(f.bundles, input);
        const d = decodeBundle(rest);
        if (!d.ok) return d.label;
        const alice = aliceForBundles();
        const p = await guarded('processPreKeyBundle', [alice.store], () =>
          alice.manager.processPreKeyBundle(f.bob.address, d.bundle),
        );
        if (!p.ok) return `process ${p.code}`;
        const plaintext = new TextEncoder().encode('hello from a fuzzed bundle');
        const e = await guarded('encrypt after bundle', [alice.store], () =>
          alice.manager.encrypt(f.bob.address, plaintext),
        );
        if (!e.ok) return `encrypt ${e.code}`;
        const bob = receiverStore(f, 'bob', undefined, undefined);
        const r = await guarded('decrypt after bundle', [bob.store], () =>
          bob.manager.decrypt(alice.address, e.value),
        );
        if (r.ok) expectPlaintext('decrypt after bundle', r.value, plaintext);
        return `processed, decrypt ${r.ok ? 'ok' : r.code}`;
      },
    },
  ];
  return targets;
}

/** One-time, signed and Kyber prekey records: decode, re-serialize, then serve a first contact. */
function prekeyRecordTargets(f: Fixtures): FuzzTarget[] {
  const alice = f.firstContact[0] as Scenario;
  const carol = f.firstContact.find((s) => s.sender === 'carol') as Scenario;
  type Kind = 'prekey' | 'signed-prekey' | 'kyber-prekey';
  const make = <R extends Serializable>(
    kind: Kind,
    originals: readonly R[],
    deserialize: (b: Uint8Array) => R,
    replace: (record: R, index: number) => Parameters<typeof receiverStore>[4],
    scenarioFor: (index: number) => Scenario,
  ): FuzzTarget => ({
    name: `record-${kind}`,
    description: `${kind} record: deserialize, re-serialize, then decrypt a first contact that uses it`,
    layout: 'versioned-protobuf',
    prefix: 1,
    seeds: originals.map((r, i) => withPrefix(i, r.serialize())),
    async run(input) {
      const index = (input[0] ?? 0) % originals.length;
      const rest = input.subarray(1);
      const d = decodeOutcome(`${kind} deserialize`, () => deserialize(rest));
      if (!d.ok) return `deserialize ${d.code}`;
      fixedPoint(kind, d.value, deserialize);
      const s = scenarioFor(index);
      const sender = partyOf(f, s.sender);
      const { store, manager } = receiverStore(
        f,
        'bob',
        undefined,
        undefined,
        replace(d.value, index),
      );
      const r = await guarded(`${kind} in use`, [store], () =>
        manager.decrypt(sender.address, s.message),
      );
      if (r.ok) expectPlaintext(`${kind} in use`, r.value, s.plaintext);
      return r.ok ? 'decrypted' : r.code;
    },
  });
  const k = f.bobPreKeys;
  return [
    make<PreKeyRecord>(
      'prekey',
      k.oneTime,
      (b) => PreKeyRecord.deserialize(b),
      (r, i) => ({ prekeys: { oneTime: k.oneTime.map((o, j) => (j === i ? r : o)) } }),
      () => alice,
    ),
    make<SignedPreKeyRecord>(
      'signed-prekey',
      [k.signed],
      (b) => SignedPreKeyRecord.deserialize(b),
      (r) => ({ prekeys: { signed: r } }),
      () => alice,
    ),
    make<KyberPreKeyRecord>(
      'kyber-prekey',
      k.kyber,
      (b) => KyberPreKeyRecord.deserialize(b),
      (r, i) => ({ prekeys: { kyber: k.kyber.map((o, j) => (j === i ? r : o)) } }),
      (i) => (i === 0 ? alice : carol),
    ),
  ];
}
