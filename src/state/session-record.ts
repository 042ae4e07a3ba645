/**
 * SessionRecord: one current session state plus up to 40 archived ones, newest first, and their
 * byte format. Records are immutable: every change returns a new record, so a failed operation
 * leaves the caller's copy untouched.
 *
 * Stored format (local only): `RECORD_FORMAT_VERSION ‖ protobuf Record`, see
 * `docs/storage.md`. Deserialization bounds every count (chains, skipped keys, archived states)
 * of the current state and the number of archived states; each archived state is bounded and
 * checked when it is first decoded.
 *
 * @module
 */
import {
  ARCHIVED_STATES_MAX_LENGTH,
  MAX_MESSAGE_KEYS,
  MAX_RECEIVER_CHAINS,
  MAX_UNACKNOWLEDGED_SESSION_AGE_SECONDS,
  RECORD_FORMAT_VERSION,
} from '../constants.js';
import {
  IndexedKeys,
  KeyPair,
  packedKeyBytes,
  PrivateKey,
  PublicKey,
  publicKeyBytes,
} from '../keys/index.js';
import { installInspect, REDACTED } from '../keys/index.js';
import type { ChainKey, PendingPreKey, ReceiverChain, SessionState } from '../ratchet/index.js';
import { decodePqRatchetState, writePqRatchetState } from '../spqr/index.js';
import { ProtobufMessage, ProtobufWriter } from '../wire/index.js';
import { InvalidRecordError } from '../errors.js';
import { decodeKey, openRecord, recordFail, recordWriter } from './codec.js';

const KIND = 'session record';
const fail = recordFail(KIND);

/** The cached serialized bytes of a record, reached only through {@link sessionRecordBytes}. */
let bytesOfRecord: (record: SessionRecord) => Uint8Array;
/** A record's archived entries, reached only through {@link archivedStateAt}. */
let entriesOf: (record: SessionRecord) => readonly ArchivedState[];

/**
 * An archived state still in its stored encoding: loading a record does not decode its archived
 * states, which most operations only carry over (they matter when a message fails to decrypt
 * with the current state, or a PreKey message repeats an old session). Decoded on first use,
 * once, whichever record it has moved into since.
 */
class EncodedState {
  readonly encoded: Uint8Array;
  #decoded: SessionState | undefined;

  /** @param encoded - a private copy of the state's encoding, in the current record format */
  constructor(encoded: Uint8Array) {
    this.encoded = encoded;
  }

  /** @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the encoding is malformed */
  get state(): SessionState {
    if (this.#decoded === undefined) {
      this.#decoded = decodeState(this.encoded);
      // Its encoding is known already (and private): no second copy for the cache.
      encodings.set(this.#decoded, this.encoded);
    }
    return this.#decoded;
  }
}

/** An archived state, decoded or not yet. */
type ArchivedState = SessionState | EncodedState;

function decoded(entry: ArchivedState): SessionState {
  return entry instanceof EncodedState ? entry.state : entry;
}

/** A peer's session record. */
export class SessionRecord {
  readonly #current: SessionState | undefined;
  readonly #previous: readonly ArchivedState[];
  #previousDecoded: readonly SessionState[] | undefined;
  #serialized: Uint8Array | undefined;
  /**
   * The store's version of this record when it was loaded (for compare-and-swap at commit), or
   * `undefined` for a record that was not loaded from a versioning store.
   */
  readonly version: number | undefined;

  private constructor(
    current: SessionState | undefined,
    previous: readonly ArchivedState[],
    version?: number,
  ) {
    this.#current = current;
    this.#previous = previous;
    this.version = version;
  }

  /** A record with no state. */
  static empty(): SessionRecord {
    return new SessionRecord(undefined, []);
  }

  /** @internal build a record from states (hazmat). */
  static fromStates(
    current: SessionState | undefined,
    previous: readonly SessionState[],
  ): SessionRecord {
    return new SessionRecord(current, previous.slice(0, ARCHIVED_STATES_MAX_LENGTH));
  }

  /** The current state, if any. */
  get currentState(): SessionState | undefined {
    return this.#current;
  }

  /**
   * Archived states, most recently archived first. A loaded record decodes them here, on first
   * access, rather than when it is loaded.
   *
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when a stored archived state is malformed
   */
  get previousStates(): readonly SessionState[] {
    this.#previousDecoded ??= this.#previous.map(decoded);
    return this.#previousDecoded;
  }

  /** How many archived states the record holds (without decoding them). */
  get previousStateCount(): number {
    return this.#previous.length;
  }

  /**
   * Whether the record has a state that can encrypt now: a current state, not an unacknowledged
   * one older than 30 days.
   *
   * @param nowSeconds - current time in seconds since the epoch
   */
  hasUsableCurrentState(nowSeconds: number): boolean {
    const s = this.#current;
    if (s === undefined) return false;
    const pending = s.pendingPreKey;
    return (
      pending === undefined ||
      pending.timestamp + MAX_UNACKNOWLEDGED_SESSION_AGE_SECONDS >= nowSeconds
    );
  }

  /** A new record where `state` is current and the old current state is archived. */
  promoteState(state: SessionState): SessionRecord {
    const previous =
      this.#current === undefined ? this.#previous : [archived(this.#current), ...this.#previous];
    return new SessionRecord(state, previous.slice(0, ARCHIVED_STATES_MAX_LENGTH));
  }

  /**
   * A new record where the archived state at `index` becomes current (after an update). The
   * other archived states are carried over as they are (decoded or not).
   */
  promoteArchivedState(index: number, updated: SessionState): SessionRecord {
    const rest = this.#previous.filter((_, i) => i !== index);
    const previous = this.#current === undefined ? rest : [archived(this.#current), ...rest];
    return new SessionRecord(updated, previous.slice(0, ARCHIVED_STATES_MAX_LENGTH));
  }

  /** A new record with the current state replaced (no archiving). */
  withCurrentState(state: SessionState): SessionRecord {
    return new SessionRecord(state, this.#previous);
  }

  /** A new record whose current state is archived, leaving no current state. */
  archiveCurrentState(): SessionRecord {
    if (this.#current === undefined) return this;
    return new SessionRecord(
      undefined,
      [archived(this.#current), ...this.#previous].slice(0, ARCHIVED_STATES_MAX_LENGTH),
    );
  }

  /**
   * Every state, current first (decoding the archived ones, see {@link previousStates}).
   *
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when a stored archived state is malformed
   */
  allStates(): SessionState[] {
    const previous = this.previousStates;
    return this.#current === undefined ? [...previous] : [this.#current, ...previous];
  }

  /** Serialize (format version first). Contains secrets: store it protected. */
  serialize(): Uint8Array {
    return this.#bytes().slice();
  }

  static {
    bytesOfRecord = (record) => record.#bytes();
    entriesOf = (record) => record.#previous;
  }

  #bytes(): Uint8Array {
    if (this.#serialized === undefined) {
      const w = recordWriter();
      if (this.#current !== undefined) w.message(1, encodeState(this.#current));
      for (const s of this.#previous) {
        w.bytes(2, s instanceof EncodedState ? s.encoded : encodedState(s));
      }
      this.#serialized = w.finish();
    }
    return this.#serialized;
  }

  /**
   * Parse a serialized record. The current state is decoded and checked now; archived states of
   * a record in the current format are kept in their encoding and decoded on first use (see
   * {@link previousStates}), so a malformed one is reported then.
   *
   * @param bytes - the serialized record
   * @param version - the store's version of it, for compare-and-swap at commit (stores set it)
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for anything malformed or out of bounds
   */
  static deserialize(bytes: Uint8Array, version?: number): SessionRecord {
    const { body: m, formatVersion } = openRecord(bytes, KIND);
    const currentBytes = m.bytes(1);
    const previousBytes = m.repeatedBytes(2);
    if (previousBytes.length > ARCHIVED_STATES_MAX_LENGTH) fail('too many archived states');
    // Archived states of a record in an older format are decoded now and re-encoded in today's
    // format on the next save; those in today's format stay encoded until used.
    const previous: ArchivedState[] =
      formatVersion === RECORD_FORMAT_VERSION
        ? previousBytes.map((b) => new EncodedState(b.slice()))
        : previousBytes.map(decodeState);
    return new SessionRecord(
      currentBytes === undefined ? undefined : decodeState(currentBytes),
      previous,
      version,
    );
  }

  /**
   * The JSON rendering: the shape of the record, never its keys.
   *
   * @returns the class tag, whether a current state exists, the archived-state count and
   *   `'<redacted>'`
   */
  toJSON(): {
    /** Always `'SessionRecord'`. */
    type: 'SessionRecord';
    /** Whether the record has a current state. */
    hasCurrentState: boolean;
    /** How many archived states the record holds (a count, unlike the getter of that name). */
    previousStates: number;
    /** Always `'<redacted>'`. */
    secrets: string;
  } {
    return {
      type: 'SessionRecord',
      hasCurrentState: this.#current !== undefined,
      previousStates: this.#previous.length,
      secrets: REDACTED,
    };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `SessionRecord(current: yes | none, previous: <count>, <redacted>)`
   */
  toString(): string {
    return `SessionRecord(current: ${this.#current === undefined ? 'none' : 'yes'}, previous: ${String(this.#previous.length)}, ${REDACTED})`;
  }
}

installInspect(SessionRecord);

function archived(state: SessionState): SessionState {
  return state.pendingPreKey === undefined ? state : { ...state, pendingPreKey: undefined };
}

// ------------------------------------------------------------------------------------------
// Codec
// ------------------------------------------------------------------------------------------

/**
 * The encoding of archived states, by state object. States are immutable, so a state that is
 * still the same object encodes to the same bytes: an archived state, which every operation
 * carries over unchanged, is encoded once instead of on every save (a loaded one is not encoded
 * at all: it stays an `EncodedState` unless it is decoded, and then its stored bytes are
 * recorded here). The current state changes with nearly every operation and is not cached. The
 * bytes are private copies, never handed out.
 *
 * A loaded archived state is saved again as it was read, so fields this version does not know
 * survive in it (as protobuf's unknown fields do), but only within one record format: states
 * read from an older format are re-encoded.
 */
const encodings = new WeakMap<SessionState, Uint8Array>();

function encodedState(s: SessionState): Uint8Array {
  let bytes = encodings.get(s);
  if (bytes === undefined) {
    bytes = encodeState(s).finish();
    encodings.set(s, bytes);
  }
  return bytes;
}

function encodeChainKey(
  w: ProtobufWriter,
  keyField: number,
  indexField: number,
  ck: ChainKey,
): void {
  w.bytes(keyField, ck.key).uint32(indexField, ck.index);
}

function encodeState(s: SessionState): ProtobufWriter {
  const w = new ProtobufWriter()
    .uint32(1, s.version)
    .bytes(2, publicKeyBytes(s.localIdentityKey))
    .bytes(3, publicKeyBytes(s.remoteIdentityKey))
    .bytes(4, s.rootKey)
    .uint32(5, s.previousCounter);
  const sender = new ProtobufWriter()
    .bytes(1, publicKeyBytes(s.senderChain.ratchetKeyPair.publicKey))
    .bytes(2, s.senderChain.ratchetKeyPair.privateKey.serialize());
  encodeChainKey(sender, 3, 4, s.senderChain.chainKey);
  w.message(6, sender);
  for (const chain of s.receiverChains) {
    const c = new ProtobufWriter().bytes(1, publicKeyBytes(chain.ratchetKey));
    encodeChainKey(c, 2, 3, chain.chainKey);
    if (chain.skippedKeys.length > 0) c.bytes(5, packedKeyBytes(chain.skippedKeys));
    w.message(7, c);
  }
  const p = s.pendingPreKey;
  if (p !== undefined) {
    const pw = new ProtobufWriter();
    if (p.preKeyId !== undefined) pw.uint32(1, p.preKeyId);
    pw.uint32(2, p.signedPreKeyId)
      .bytes(3, publicKeyBytes(p.baseKey))
      .uint64(4, BigInt(p.timestamp))
      .uint32(5, p.kyberPreKeyId)
      .bytes(6, p.kyberCiphertext);
    w.message(8, pw);
  }
  w.uint32(9, s.localRegistrationId)
    .uint32(10, s.remoteRegistrationId)
    .bytes(11, publicKeyBytes(s.aliceBaseKey));
  const pq = writePqRatchetState(s.pqRatchet);
  if (pq !== undefined) w.message(12, pq);
  return w;
}

/** Skipped keys from field 5: `(u32be index ‖ 32-byte seed)*`, newest first, kept packed. */
function decodeSkippedKeys(bytes: Uint8Array): IndexedKeys {
  if (bytes.length / 36 > MAX_MESSAGE_KEYS) fail('too many skipped message keys');
  return IndexedKeys.fromPacked(bytes) ?? fail('bad skipped message keys');
}

function sub(bytes: Uint8Array): ProtobufMessage {
  return new ProtobufMessage(bytes, fail);
}

function publicKey(bytes: Uint8Array, what: string): PublicKey {
  return decodeKey(KIND, what, () => PublicKey.deserialize(bytes));
}

function decodeState(bytes: Uint8Array): SessionState {
  const m = sub(bytes);
  const version = m.requiredUint32(1);
  const localIdentityKey = publicKey(m.requiredBytes(2), 'local identity key');
  const remoteIdentityKey = publicKey(m.requiredBytes(3), 'remote identity key');
  const rootKey = m.requiredBytes(4, 32).slice();
  const previousCounter = m.requiredUint32(5);

  const sm = sub(m.requiredBytes(6));
  const senderPublic = publicKey(sm.requiredBytes(1), 'sender ratchet key');
  const senderPrivate = decodeKey(KIND, 'sender ratchet private key', () =>
    PrivateKey.deserialize(sm.requiredBytes(2, 32)),
  );
  // The pair is not re-derived here (a scalar multiplication per load): a record is our own
  // data, and its integrity is the store's business (see the encrypting backend).
  const senderChain = {
    ratchetKeyPair: new KeyPair(senderPublic, senderPrivate),
    chainKey: { key: sm.requiredBytes(3, 32).slice(), index: sm.requiredUint32(4) },
  };

  const chainBytes = m.repeatedBytes(7);
  if (chainBytes.length > MAX_RECEIVER_CHAINS) fail('too many receiver chains');
  const receiverChains: ReceiverChain[] = chainBytes.map((cb) => {
    const c = sub(cb);
    // Field 5 (packed) is what chiffre writes; field 4 (one message per key) is how records
    // written before it hold them. Both are read; a record never holds both.
    const legacy = c.repeatedBytes(4);
    const packed = c.bytes(5);
    if (legacy.length > 0 && packed !== undefined) fail('skipped message keys stored twice');
    if (legacy.length > MAX_MESSAGE_KEYS) fail('too many skipped message keys');
    const skippedKeys =
      packed !== undefined
        ? decodeSkippedKeys(packed)
        : IndexedKeys.fromEntries(
            legacy.map((kb) => {
              const k = sub(kb);
              return { index: k.requiredUint32(1), key: k.requiredBytes(2, 32) };
            }),
          );
    return {
      ratchetKey: publicKey(c.requiredBytes(1), 'receiver ratchet key'),
      chainKey: { key: c.requiredBytes(2, 32).slice(), index: c.requiredUint32(3) },
      skippedKeys,
    };
  });

  let pendingPreKey: PendingPreKey | undefined;
  const pb = m.bytes(8);
  if (pb !== undefined) {
    const p = sub(pb);
    const timestamp = p.uint64(4);
    if (timestamp === undefined || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail('bad pending prekey timestamp');
    }
    pendingPreKey = {
      preKeyId: p.uint32(1),
      signedPreKeyId: p.requiredUint32(2),
      baseKey: publicKey(p.requiredBytes(3), 'pending base key'),
      timestamp: Number(timestamp),
      kyberPreKeyId: p.requiredUint32(5),
      kyberCiphertext: p.requiredBytes(6).slice(),
    };
  }
  return {
    version,
    localIdentityKey,
    remoteIdentityKey,
    rootKey,
    previousCounter,
    senderChain,
    receiverChains,
    pendingPreKey,
    localRegistrationId: m.requiredUint32(9),
    remoteRegistrationId: m.requiredUint32(10),
    aliceBaseKey: publicKey(m.requiredBytes(11), 'alice base key'),
    // Absent in format 1 (before SPQR) and for sessions that run without SPQR: the V0 state.
    pqRatchet: decodePqRatchetState(m.bytes(12) ?? new Uint8Array(0)),
  };
}

/**
 * The archived state at `index` of `record`, decoded now if it is still encoded, or the
 * `InvalidRecordError` its encoding gives: for callers that try archived states one at a time
 * and must not let one malformed state stop the others.
 *
 * @throws {RangeError} when `index` is not below `record.previousStateCount`
 * @internal
 */
export function archivedStateAt(
  record: SessionRecord,
  index: number,
): SessionState | InvalidRecordError {
  const entry = entriesOf(record)[index];
  if (entry === undefined) throw new RangeError(`no archived state ${String(index)}`);
  if (!(entry instanceof EncodedState)) return entry;
  try {
    return entry.state;
  } catch (e) {
    if (e instanceof InvalidRecordError) return e;
    throw e;
  }
}

/**
 * The serialized form of `record` without a copy, for a store that keeps the bytes as they are
 * (the in-memory store). Not part of the public API: the bytes are the record's own, and writing
 * to them would change it.
 *
 * @internal
 */
export function sessionRecordBytes(record: SessionRecord): Uint8Array {
  return bytesOfRecord(record);
}
