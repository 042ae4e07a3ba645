/**
 * Handcrafted inputs that seed the corpus (`npm run fuzz -- --seed-corpus`): one or a few per
 * target, each aimed at a parser corner or a bound — overlong varints, lying length prefixes,
 * field 0, groups, repeated fields, counters and SPQR indexes at the jump limits, out-of-range
 * epochs and chunk indexes, records over their count bounds, bundles with bad keys and
 * signatures. They are replayed by `corpus.test.ts` with the same oracle as the fuzzer.
 */
import { fixtures } from './fixtures.js';
import {
  concat,
  joinFields,
  overlongVarint,
  type RawField,
  splitFields,
  varint,
  withContent,
} from './mutator.js';
import { encodeBundle, makeTargets } from './targets.js';

/** A handcrafted input. */
export interface Interesting {
  readonly target: string;
  readonly bytes: Uint8Array;
  readonly why: string;
}

function fieldsOf(bytes: Uint8Array): RawField[] {
  const f = splitFields(bytes);
  if (f === undefined) throw new Error('interesting.ts: seed does not parse');
  return f;
}

/** Rewrite the fields of a protobuf (optionally under a nested path of length-delimited fields). */
function edit(
  bytes: Uint8Array,
  path: readonly number[],
  fn: (fields: RawField[]) => RawField[],
): Uint8Array {
  if (path.length === 0) return joinFields(fn(fieldsOf(bytes)));
  const fields = fieldsOf(bytes);
  const at = fields.findIndex((f) => f.tag === path[0] && f.wire === 2);
  if (at < 0) throw new Error(`interesting.ts: no field ${String(path[0])}`);
  fields[at] = withContent(
    fields[at] as RawField,
    edit((fields[at] as RawField).value, path.slice(1), fn),
  );
  return joinFields(fields);
}

/** A varint field's value replaced by raw varint bytes. */
function setVarint(tag: number, value: Uint8Array): (fields: RawField[]) => RawField[] {
  return (fields) => fields.map((f) => (f.tag === tag && f.wire === 0 ? { ...f, value } : f));
}

function readVarint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < bytes.length; i++) v |= BigInt((bytes[i] as number) & 0x7f) << BigInt(7 * i);
  return v;
}

/** SignalMessage helpers: (version, protobuf, mac). */
function signalParts(m: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  return [m.subarray(0, 1), m.subarray(1, m.length - 8), m.subarray(m.length - 8)];
}

/** Every handcrafted input, built from the deterministic fixtures. */
export async function interestingInputs(): Promise<Interesting[]> {
  const f = await fixtures();
  const targets = new Map(makeTargets(f).map((t) => [t.name, t]));
  const seed = (name: string, i = 0): Uint8Array => {
    const s = targets.get(name)?.seeds[i];
    if (s === undefined) throw new Error(`interesting.ts: no seed ${String(i)} for ${name}`);
    return s;
  };
  const out: Interesting[] = [];
  const add = (target: string, why: string, bytes: Uint8Array): void => {
    out.push({ target, why, bytes });
  };

  // -- SignalMessage decoding ----------------------------------------------------------------
  const sm = seed('signal-message', 1);
  const [v, body, mac] = signalParts(sm);
  add(
    'signal-message',
    'counter as an 11-byte varint',
    concat(v, edit(body, [], setVarint(2, overlongVarint(1, 10))), mac),
  );
  add(
    'signal-message',
    'ciphertext length prefix 2^64 − 1',
    concat(
      v,
      edit(body, [], (fs) =>
        fs.map((x) => (x.tag === 4 ? { ...x, len: varint(2n ** 64n - 1n) } : x)),
      ),
      mac,
    ),
  );
  add('signal-message', 'field number 0 first', concat(v, Uint8Array.of(0x00, 0x01), body, mac));
  add(
    'signal-message',
    'a group (wire type 3) in place of the ratchet key',
    concat(v, Uint8Array.of(0x0b), body.subarray(1), mac),
  );
  add(
    'signal-message',
    'counter repeated (prost: last wins; chiffre refuses)',
    concat(v, body, Uint8Array.of(0x10, 0x07), mac),
  );
  add('signal-message', 'version byte and MAC only', concat(v, mac));

  // -- PreKeySignalMessage decoding -----------------------------------------------------------
  const pk = seed('prekey-message');
  add(
    'prekey-message',
    'Kyber ciphertext length prefix 2^63',
    concat(
      pk.subarray(0, 1),
      edit(pk.subarray(1), [], (fs) =>
        fs.map((x) => (x.tag === 8 ? { ...x, len: varint(2n ** 63n) } : x)),
      ),
    ),
  );
  add('prekey-message', 'signed prekey id repeated', concat(pk, Uint8Array.of(0x30, 0x02)));
  add(
    'prekey-message',
    'inner SignalMessage one byte short',
    concat(
      pk.subarray(0, 1),
      edit(pk.subarray(1), [], (fs) =>
        fs.map((x) => (x.tag === 4 ? withContent(x, x.value.subarray(0, x.value.length - 1)) : x)),
      ),
    ),
  );
  add(
    'prekey-message',
    'version 3 without Kyber fields',
    concat(
      Uint8Array.of(0x33),
      edit(pk.subarray(1), [], (fs) => fs.filter((x) => x.tag !== 7 && x.tag !== 8)),
    ),
  );

  // -- SPQR messages ----------------------------------------------------------------------------
  add('spqr-message', 'epoch 0', Uint8Array.of(0x01, 0x00, 0x01, 0x00));
  add(
    'spqr-message',
    'epoch 2^53 (past the safe integers)',
    concat(Uint8Array.of(0x01), varint(2n ** 53n), Uint8Array.of(0x01, 0x00)),
  );
  add(
    'spqr-message',
    'index 2^32',
    concat(Uint8Array.of(0x01, 0x01), varint(2n ** 32n), Uint8Array.of(0x00)),
  );
  add(
    'spqr-message',
    'chunk index 65536',
    concat(Uint8Array.of(0x01, 0x01, 0x01, 0x01), varint(65_536), new Uint8Array(32)),
  );
  add(
    'spqr-message',
    'epoch as an 11-byte varint',
    concat(Uint8Array.of(0x01), overlongVarint(1, 10), Uint8Array.of(0x01, 0x00)),
  );
  add('spqr-message', 'unknown payload type 7', Uint8Array.of(0x01, 0x01, 0x01, 0x07));
  add(
    'spqr-message',
    'chunk data one byte short',
    concat(Uint8Array.of(0x01, 0x01, 0x01, 0x02, 0x00), new Uint8Array(31)),
  );

  // -- decrypting SignalMessages ------------------------------------------------------------------
  // A message that opens a new receiving chain: its counter is the gap.
  const fresh = f.whisper.findIndex((x) => x.label.includes('new chain'));
  const w = seed('decrypt-whisper', fresh);
  const [wv, wb, wm] = signalParts(w.subarray(1));
  const wp = w.subarray(0, 1);
  const flipped = wm.slice();
  flipped[0] = (flipped[0] as number) ^ 1;
  add('decrypt-whisper', 'MAC flipped', concat(wp, wv, wb, flipped));
  const counter = readVarint(fieldsOf(wb).find((x) => x.tag === 2)?.value ?? Uint8Array.of(0));
  add(
    'decrypt-whisper',
    'counter 25,001 past the next expected one',
    concat(wp, wv, edit(wb, [], setVarint(2, varint(counter + 25_001n))), wm),
  );
  add(
    'decrypt-whisper',
    'counter 2^32 − 1',
    concat(wp, wv, edit(wb, [], setVarint(2, varint(0xffff_ffffn))), wm),
  );
  add('decrypt-whisper', 'one trailing byte', concat(w, Uint8Array.of(0)));

  // -- PreKeySignalMessages --------------------------------------------------------------------------
  const first = seed('decrypt-prekey-new');
  const lowOrder = concat(Uint8Array.of(0x05), new Uint8Array(32));
  add(
    'decrypt-prekey-new',
    'identity key is a low-order point',
    concat(
      first.subarray(0, 2),
      edit(first.subarray(2), [], (fs) =>
        fs.map((x) => (x.tag === 3 ? withContent(x, lowOrder) : x)),
      ),
    ),
  );
  add(
    'decrypt-prekey-new',
    'base key equals the identity key',
    concat(
      first.subarray(0, 2),
      edit(first.subarray(2), [], (fs) => {
        const id = fs.find((x) => x.tag === 3) as RawField;
        return fs.map((x) => (x.tag === 2 ? withContent(x, id.value) : x));
      }),
    ),
  );
  add(
    'decrypt-prekey-new',
    'unknown Kyber prekey id',
    concat(first.subarray(0, 2), edit(first.subarray(2), [], setVarint(7, varint(99)))),
  );
  const again = seed('decrypt-prekey-existing');
  add(
    'decrypt-prekey-existing',
    'registration id changed (unauthenticated outer field)',
    concat(again.subarray(0, 2), edit(again.subarray(2), [], setVarint(5, varint(0x3fff)))),
  );

  // -- SPQR field 5 from an authenticated peer -------------------------------------------------
  const spqr = targets.get('decrypt-spqr-authenticated')?.seeds ?? [];
  const withChunk = spqr.find((s) => s.length > 30) ?? spqr[0] ?? new Uint8Array(0);
  const parts = (s: Uint8Array): { epoch: bigint; index: bigint; rest: Uint8Array } => {
    let at = 2;
    const rd = (): bigint => {
      let x = 0n;
      for (let i = 0; ; i++) {
        const b = s[at++] as number;
        x |= BigInt(b & 0x7f) << BigInt(7 * i);
        if ((b & 0x80) === 0) return x;
      }
    };
    const epoch = rd();
    const index = rd();
    return { epoch, index, rest: s.subarray(at) };
  };
  const p = parts(withChunk);
  const rebuild = (epoch: bigint, index: bigint, rest: Uint8Array): Uint8Array =>
    concat(withChunk.subarray(0, 2), varint(epoch), varint(index), rest);
  add(
    'decrypt-spqr-authenticated',
    'SPQR index 24,999 ahead (within the jump limit: 25,000 chain steps)',
    rebuild(p.epoch, p.index + 24_999n, p.rest),
  );
  add(
    'decrypt-spqr-authenticated',
    'SPQR index 25,001 ahead (past the jump limit)',
    rebuild(p.epoch, p.index + 25_001n, p.rest),
  );
  add('decrypt-spqr-authenticated', 'SPQR epoch one ahead', rebuild(p.epoch + 1n, p.index, p.rest));
  add(
    'decrypt-spqr-authenticated',
    'payload type "none" followed by chunk bytes',
    rebuild(p.epoch, p.index, concat(Uint8Array.of(0x00), p.rest.subarray(1))),
  );
  add(
    'decrypt-spqr-authenticated',
    'chunk index 65535',
    rebuild(
      p.epoch,
      p.index,
      concat(p.rest.subarray(0, 1), varint(65_535), p.rest.subarray(p.rest.length - 32)),
    ),
  );

  // -- records ------------------------------------------------------------------------------------
  const rec = seed('record-session', 3);
  const rp = rec.subarray(0, 1);
  const rbody = rec.subarray(2);
  add(
    'record-session',
    'format version 3 (newer than supported)',
    concat(rp, Uint8Array.of(0x03), rbody),
  );
  add('record-session', 'format version 0', concat(rp, Uint8Array.of(0x00), rbody));
  const current = fieldsOf(rbody).find((x) => x.tag === 1) as RawField;
  add(
    'record-session',
    '41 archived states',
    concat(
      rp,
      rec.subarray(1, 2),
      rbody,
      ...Array.from({ length: 41 }, () => joinFields([{ ...current, key: varint(2 * 8 + 2) }])),
    ),
  );
  add(
    'record-session',
    '6 receiver chains',
    concat(
      rp,
      rec.subarray(1, 2),
      edit(rbody, [1], (fs) => {
        const chain = fs.find((x) => x.tag === 7) as RawField;
        return [...fs, ...Array.from({ length: 6 }, () => chain)];
      }),
    ),
  );
  add(
    'record-session',
    'truncated in the middle of the current state',
    rec.subarray(0, rec.length >> 1),
  );

  const pq = seed('record-spqr-state', 84 % (targets.get('record-spqr-state')?.seeds.length ?? 1));
  const pqp = pq.subarray(0, 1);
  const pqb = pq.subarray(1);
  add('record-spqr-state', 'empty: a V0 state where the session negotiated V1', pqp);
  add(
    'record-spqr-state',
    'SCKA epoch far ahead of the chain epoch (encrypt must fail typed)',
    concat(
      pqp,
      edit(pqb, [1], (fs) =>
        fs.map((x) => (x.tag === 2 ? { ...x, value: varint(readVarint(x.value) + 6n) } : x)),
      ),
    ),
  );
  add(
    'record-spqr-state',
    '17 chain links',
    concat(
      pqp,
      edit(pqb, [2], (fs) => {
        const link = fs.find((x) => x.tag === 7) as RawField;
        return [...fs, ...Array.from({ length: 17 }, () => link)];
      }),
    ),
  );
  add(
    'record-spqr-state',
    'key history not a multiple of 36 bytes',
    concat(
      pqp,
      edit(pqb, [2], (fs) => {
        let done = false;
        return fs.map((x) => {
          if (done || x.tag !== 7) return x;
          done = true;
          return withContent(
            x,
            edit(x.value, [2], (h) =>
              h.map((y) => (y.tag === 3 ? withContent(y, concat(y.value, Uint8Array.of(1))) : y)),
            ),
          );
        });
      }),
    ),
  );

  for (const [name, field, len] of [
    ['record-prekey', 3, 31],
    ['record-signed-prekey', 3, 31],
    ['record-kyber-prekey', 2, 100],
  ] as const) {
    const s = seed(name);
    add(name, 'format version 0', concat(s.subarray(0, 1), Uint8Array.of(0x00), s.subarray(2)));
    add(
      name,
      `secret key field cut to ${String(len)} bytes`,
      concat(
        s.subarray(0, 2),
        edit(s.subarray(2), [], (fs) =>
          fs.map((x) =>
            x.tag === field && x.wire === 2 ? withContent(x, x.value.subarray(0, len)) : x,
          ),
        ),
      ),
    );
  }

  // -- bundles -------------------------------------------------------------------------------------
  const b = f.bundles[0];
  if (b !== undefined) {
    const enc = encodeBundle(b);
    const pre = Uint8Array.of(0);
    add(
      'bundle',
      'signed prekey signature 63 bytes',
      concat(
        pre,
        edit(enc, [], (fs) =>
          fs.map((x) => (x.tag === 7 ? withContent(x, x.value.subarray(0, 63)) : x)),
        ),
      ),
    );
    add(
      'bundle',
      'Kyber prekey signature 65 bytes',
      concat(
        pre,
        edit(enc, [], (fs) =>
          fs.map((x) => (x.tag === 10 ? withContent(x, concat(x.value, Uint8Array.of(0))) : x)),
        ),
      ),
    );
    add(
      'bundle',
      'identity key is a low-order point',
      concat(
        pre,
        edit(enc, [], (fs) => fs.map((x) => (x.tag === 11 ? withContent(x, lowOrder) : x))),
      ),
    );
    add(
      'bundle',
      'signed prekey is a low-order point',
      concat(
        pre,
        edit(enc, [], (fs) => fs.map((x) => (x.tag === 6 ? withContent(x, lowOrder) : x))),
      ),
    );
    add(
      'bundle',
      'Kyber prekey with ML-KEM type byte 0x0a',
      concat(
        pre,
        edit(enc, [], (fs) =>
          fs.map((x) =>
            x.tag === 9 ? withContent(x, concat(Uint8Array.of(0x0a), x.value.subarray(1))) : x,
          ),
        ),
      ),
    );
    add(
      'bundle',
      'one-time prekey id without the key',
      concat(
        pre,
        edit(enc, [], (fs) => fs.filter((x) => x.tag !== 4)),
      ),
    );
  }
  return out;
}
