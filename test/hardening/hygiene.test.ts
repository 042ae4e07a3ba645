/**
 * Secret hygiene over a whole conversation. Alice and Bob talk long enough for several SPQR
 * epochs, with out-of-order delivery, and every error path the library has fires at least once
 * (tampered MAC and field 5, duplicate, too-far jump, replayed PreKeySignalMessage, bad
 * signature, corrupt records, unknown session, changed identity, missing prekey, failing store,
 * API misuse).
 *
 * All along, every secret is collected: identity and prekey private keys, every ratchet private
 * key, root key, chain key and skipped-key seed of every session state (current and archived),
 * the SPQR secrets (authenticator keys, decapsulation keys, encapsulation state, chain roots and
 * keys, kept keys, the PQXDH-derived auth key), every message key (cipher key, MAC key, IV, seed
 * and SPQR salt — derived through the hazmat layer on copies of the receiver's state), and every
 * plaintext. Then none of them may appear — as hex (any 8-byte window), base64 / base64url (any
 * aligned 9-byte window, at three alignments), a decimal list (any 12 bytes, as `inspect` and JSON
 * print a Uint8Array), or raw — in any `String()`, `JSON.stringify`, `util.inspect` (deep, hidden,
 * getters) of any public object, nor in any error's message, stack, rendering or cause chain.
 *
 * A separate check reads src/ with the TypeScript parser: no `console.*` anywhere, and no Node
 * built-in module (nor `process` / `Buffer`) outside src/adapters/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { inspect } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  type CiphertextMessage,
  IdentityKeyPair,
  InMemoryProtocolStore,
  KemSecretKey,
  KyberPreKeyRecord,
  PreKeyRecord,
  PrivateKey,
  ProtocolAddress,
  SessionManager,
  SessionRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import type { KyberPreKeyId, PreKeyId, SignedPreKeyId } from '../../src/keys/index.js';
import {
  deriveMessageKeys,
  deriveMessageSeed,
  ratchetReceiveStep,
  type SessionState,
} from '../../src/ratchet/index.js';
import { spqrRecv } from '../../src/spqr/index.js';
import type { ChangeSet } from '../../src/storage/index.js';
import {
  attachMac,
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodeSignalMessageBody,
} from '../../src/wire/index.js';
import { makeParty, type Party } from '../support/parties.js';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

// ------------------------------------------------------------------------------------------
// Collecting secrets
// ------------------------------------------------------------------------------------------

class Secrets {
  readonly bytes = new Map<string, Uint8Array>();
  readonly texts = new Set<string>();

  add(b: Uint8Array | undefined): void {
    if (b === undefined || b.length < 16) return;
    if (b.every((x) => x === 0)) return; // wiped buffers
    this.bytes.set(Buffer.from(b).toString('hex'), b.slice());
  }

  /** Every secret of a session state. */
  state(s: SessionState): void {
    this.add(s.rootKey);
    this.add(s.senderChain.ratchetKeyPair.privateKey.serialize());
    this.add(s.senderChain.chainKey.key);
    this.add(deriveMessageSeed(s.senderChain.chainKey.key));
    for (const c of s.receiverChains) {
      this.add(c.chainKey.key);
      this.add(deriveMessageSeed(c.chainKey.key));
      for (const k of c.skippedKeys) this.add(k.key);
    }
    const pq = s.pqRatchet;
    if (pq.scka !== undefined) {
      const scka = pq.scka as unknown as Record<string, unknown>;
      this.add(pq.scka.auth.rootKey);
      this.add(pq.scka.auth.macKey);
      // ML-KEM-768 dk = dk_PKE(1152) ‖ ek(1184) ‖ H(ek) ‖ z: the middle is public (it is sent).
      if (scka.dk instanceof Uint8Array) {
        this.add(scka.dk.subarray(0, 1152));
        this.add(scka.dk.subarray(2368));
      }
      const encaps = scka.encaps as { m: Uint8Array; r: Uint8Array } | undefined;
      if (encaps !== undefined) {
        this.add(encaps.m);
        this.add(encaps.r);
      }
    }
    if (pq.chain !== undefined) {
      this.add(pq.chain.nextRoot);
      for (const l of pq.chain.links) {
        for (const h of [l.send, l.recv]) {
          this.add(h.next);
          for (const k of h.history) this.add(k.key);
        }
      }
    }
    this.add(pq.negotiation?.authKey);
  }

  record(r: SessionRecord | null): void {
    for (const s of r?.allStates() ?? []) this.state(s);
  }

  /** A party's long-term and prekey secrets, and all of its sessions with `peers`. */
  party(p: Party, peers: readonly ProtocolAddress[]): void {
    this.add(p.identity.privateKey.serialize());
    for (let id = 1; id <= 20; id++) {
      this.add(p.store.loadPreKey(id as PreKeyId)?.keyPair.privateKey.serialize());
      this.add(p.store.loadSignedPreKey(id as SignedPreKeyId)?.keyPair.privateKey.serialize());
      const kyber = p.store.loadKyberPreKey(id as KyberPreKeyId)?.keyPair.secretKey.serialize();
      // Kyber-1024 secret key = type ‖ s(1536) ‖ pk(1568) ‖ H(pk) ‖ z: s and z are secret.
      this.add(kyber?.subarray(1, 1537));
      this.add(kyber?.subarray(kyber.length - 32));
    }
    for (const peer of peers) this.record(p.store.loadSession(peer));
  }

  /**
   * The message keys `receiver` derives for `m`: on copies of every state of its record, the
   * receiving step, the SPQR salt and the expanded keys.
   */
  messageKeys(receiver: Party, sender: ProtocolAddress, m: CiphertextMessage): void {
    const sm =
      m.type === 'prekey'
        ? decodePreKeySignalMessage(m.body).signalMessage
        : decodeSignalMessage(m.body);
    for (const s of receiver.store.loadSession(sender)?.allStates() ?? []) {
      try {
        const step = ratchetReceiveStep(s, sm.ratchetKey, sm.counter);
        const salt = spqrRecv(s.pqRatchet, sm.pqRatchet ?? new Uint8Array(0)).key;
        const keys = deriveMessageKeys(step.seed, salt);
        this.add(step.seed);
        this.add(salt);
        this.add(keys.cipherKey);
        this.add(keys.macKey);
        this.add(keys.iv);
      } catch {
        // Not this state's message.
      }
    }
  }
}

// ------------------------------------------------------------------------------------------
// Searching renderings
// ------------------------------------------------------------------------------------------

/** Every textual rendering of `value`. */
function renderings(value: unknown): string[] {
  const out = [
    String(value),
    JSON.stringify(value) ?? '',
    inspect(value),
    inspect(value, {
      depth: Infinity,
      showHidden: true,
      getters: true,
      maxArrayLength: Infinity,
      maxStringLength: Infinity,
    }),
  ];
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? '');
    let cause: unknown = value.cause;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      out.push(...renderings(cause));
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return out;
}

/** An index of every hex, base64 and decimal-list window found in some text. */
class TextIndex {
  readonly #hex = new Set<string>();
  readonly #b64 = new Set<string>();
  readonly #dec = new Set<string>();
  readonly #raw = new Set<string>();
  readonly text: string;

  constructor(text: string) {
    this.text = text;
    for (const run of text.match(/[0-9a-fA-F]{16,}/g) ?? []) {
      const r = run.toLowerCase();
      for (let i = 0; i + 16 <= r.length; i++) this.#hex.add(r.slice(i, i + 16));
    }
    // Buffer-style spaced hex ("<Buffer 0a 1b …>").
    for (const run of text.match(/(?:[0-9a-f]{2} ){7,}[0-9a-f]{2}/g) ?? []) {
      const r = run.replace(/ /g, '');
      for (let i = 0; i + 16 <= r.length; i += 2) this.#hex.add(r.slice(i, i + 16));
    }
    for (const run of text.match(/[A-Za-z0-9+/_-]{12,}/g) ?? []) {
      for (let i = 0; i + 12 <= run.length; i++) this.#b64.add(run.slice(i, i + 12));
    }
    // Decimal lists are compared 12 numbers at a time (secrets are at least 16 bytes): with 6,
    // chance matches between random ciphertext and random keys came about once in 200,000 runs.
    for (const run of text.replace(/\s+/g, '').match(/\d{1,3}(?:,\d{1,3}){11,}/g) ?? []) {
      const n = run.split(',');
      for (let i = 0; i + 12 <= n.length; i++) this.#dec.add(n.slice(i, i + 12).join(','));
    }
    // Raw binary: any 8 characters containing one outside printable ASCII.
    for (let i = 0; i + 8 <= text.length; i++) {
      const w = text.slice(i, i + 8);
      if (/[^\x20-\x7e\n\r\t]/.test(w)) this.#raw.add(w);
    }
  }

  /** How `secret` leaks into the text, if it does. */
  leak(secret: Uint8Array): string | undefined {
    const hex = Buffer.from(secret).toString('hex');
    for (let i = 0; i + 16 <= hex.length; i += 2)
      if (this.#hex.has(hex.slice(i, i + 16))) return 'hex';
    for (let shift = 0; shift < 3; shift++) {
      const s = Buffer.from(secret.subarray(shift));
      for (const b64 of [s.toString('base64'), s.toString('base64url')]) {
        for (let i = 0; i + 12 <= b64.length - 4; i += 4)
          if (this.#b64.has(b64.slice(i, i + 12))) return 'base64';
      }
    }
    for (let i = 0; i + 12 <= secret.length; i++)
      if (this.#dec.has(Array.from(secret.subarray(i, i + 12)).join(','))) return 'decimal list';
    const latin1 = Buffer.from(secret).toString('latin1');
    for (let i = 0; i + 8 <= latin1.length; i++)
      if (this.#raw.has(latin1.slice(i, i + 8))) return 'raw';
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------
// The conversation
// ------------------------------------------------------------------------------------------

/** A store whose commits can be made to fail, to see a StorageError. */
class FailingStore extends InMemoryProtocolStore {
  fail = false;
  override commit(changes: ChangeSet): void | Promise<void> {
    if (this.fail) throw new Error('disk full');
    return super.commit(changes);
  }
}

describe('secret hygiene over a whole conversation', () => {
  it('no secret or plaintext appears in any rendering of any public object or error', async () => {
    const secrets = new Secrets();
    const errors: unknown[] = [];
    const rendered: string[] = [];
    const alice = makeParty('alice');
    const bob = makeParty('bob');
    const parties: Party[] = [alice, bob];
    let n = 0;
    const plaintext = (): Uint8Array => {
      const t = `secret plaintext ${String(n++)} ${crypto.randomUUID()}`;
      secrets.texts.add(t);
      const b = new TextEncoder().encode(t);
      secrets.add(b);
      return b;
    };
    const fails = async (op: () => unknown): Promise<unknown> => {
      try {
        await op();
      } catch (e) {
        errors.push(e);
        return e;
      }
      return expect.fail('expected an error');
    };
    const collect = (): void => {
      secrets.party(alice, [bob.address]);
      secrets.party(bob, [alice.address]);
    };
    const render = (...values: unknown[]): void => {
      for (const v of values) rendered.push(...renderings(v));
    };
    const renderPublicObjects = (): void => {
      for (const p of parties) {
        const peer = p === alice ? bob.address : alice.address;
        render(
          p.manager,
          p.store,
          p.identity,
          p.identity.privateKey,
          p.identity.publicKey,
          p.address,
        );
        render(p.store.loadSession(peer), p.store.getIdentity(peer));
        for (let id = 1; id <= 8; id++) {
          const pre = p.store.loadPreKey(id as PreKeyId);
          const spk = p.store.loadSignedPreKey(id as SignedPreKeyId);
          const kyber = p.store.loadKyberPreKey(id as KyberPreKeyId);
          render(
            pre,
            pre?.keyPair,
            pre?.keyPair.privateKey,
            spk,
            spk?.keyPair,
            kyber,
            kyber?.keyPair,
            kyber?.keyPair.secretKey,
          );
        }
      }
    };
    /** Deliver with the message keys collected first. */
    const deliver = async (to: Party, from: Party, m: CiphertextMessage): Promise<void> => {
      secrets.messageKeys(to, from.address, m);
      render(m);
      await to.manager.decrypt(from.address, m);
    };

    // -- a long conversation: bursts both ways, some out of order, several SPQR epochs --------
    const bundle = await bob.bundle();
    render(bundle);
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    collect();
    const first = await alice.manager.encrypt(bob.address, plaintext());
    await deliver(bob, alice, first);
    let lastWhisper: CiphertextMessage | undefined;
    for (let turn = 0; turn < 45; turn++) {
      for (const [from, to] of [
        [bob, alice],
        [alice, bob],
      ] as const) {
        const burst = [];
        for (let k = 0; k < 1 + ((turn + (from === bob ? 1 : 0)) % 3); k++) {
          burst.push(await from.manager.encrypt(to.address, plaintext()));
        }
        if (burst.length > 1) burst.reverse();
        for (const m of burst) await deliver(to, from, m);
        lastWhisper = burst[0];
        collect();
      }
      if (turn % 15 === 0) renderPublicObjects();
    }
    const status = await alice.manager.getSpqrStatus(bob.address);
    render(status);
    expect(status?.completedEpochs).toBeGreaterThanOrEqual(2);

    // -- every error path ------------------------------------------------------------------------
    const m = lastWhisper as CiphertextMessage;
    await fails(() => bob.manager.decrypt(alice.address, m)); // duplicate (delivered to Bob last turn)
    const fresh = await alice.manager.encrypt(bob.address, plaintext());
    secrets.messageKeys(bob, alice.address, fresh);
    const flipped = fresh.body.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    await fails(() => bob.manager.decrypt(alice.address, { type: 'whisper', body: flipped })); // MAC
    const pq = decodeSignalMessage(fresh.body).pqRatchet as Uint8Array;
    const at = Buffer.from(fresh.body).indexOf(Buffer.from(pq));
    const badPq = fresh.body.slice();
    badPq[at + 1] = (badPq[at + 1] as number) ^ 0x40; // the SPQR epoch
    await fails(() => bob.manager.decrypt(alice.address, { type: 'whisper', body: badPq }));
    const parsed = decodeSignalMessage(fresh.body);
    const far = attachMac(
      encodeSignalMessageBody({ ...parsed, counter: parsed.counter + 30_000 }),
      parsed.mac,
    );
    await fails(() => bob.manager.decrypt(alice.address, { type: 'whisper', body: far })); // too far
    await deliver(bob, alice, fresh);
    await fails(() => bob.manager.decrypt(alice.address, first)); // replayed PreKeySignalMessage
    await fails(() => bob.manager.decrypt(new ProtocolAddress('nobody', 1), fresh)); // no session
    const badBundle = await bob.bundle();
    const sig = badBundle.signedPreKeySignature.slice();
    sig[0] = (sig[0] as number) ^ 1;
    await fails(() =>
      alice.manager.processPreKeyBundle(bob.address, { ...badBundle, signedPreKeySignature: sig }),
    );
    const recordBytes = (alice.store.loadSession(bob.address) as SessionRecord).serialize();
    await fails(() => SessionRecord.deserialize(recordBytes.subarray(0, 200)));
    await fails(() => SessionRecord.deserialize(Uint8Array.of(9, ...recordBytes.subarray(1))));
    const preKey = PreKeyRecord.generate(77);
    secrets.add(preKey.keyPair.privateKey.serialize());
    await fails(() => PreKeyRecord.deserialize(preKey.serialize().subarray(0, 40)));
    const spk = SignedPreKeyRecord.generate(alice.identity, 77, Date.now());
    secrets.add(spk.keyPair.privateKey.serialize());
    await fails(() => SignedPreKeyRecord.deserialize(spk.serialize().subarray(0, 60)));
    const kyber = KyberPreKeyRecord.generate(alice.identity, 77, Date.now());
    secrets.add(kyber.keyPair.secretKey.serialize().subarray(0, 64));
    await fails(() => KyberPreKeyRecord.deserialize(kyber.serialize().subarray(0, 900)));
    await fails(() =>
      KemSecretKey.deserialize(kyber.keyPair.secretKey.serialize().subarray(0, 100)),
    );
    await fails(() =>
      PrivateKey.deserialize(alice.identity.privateKey.serialize().subarray(0, 31)),
    );
    await fails(() => IdentityKeyPair.deserialize(alice.identity.serialize().subarray(0, 60)));
    render(preKey, spk, kyber, kyber.keyPair.secretKey);
    await fails(() => alice.manager.encrypt(bob.address, 'not bytes' as unknown as Uint8Array)); // misuse

    // Bob re-registers: a new identity at the same address.
    const bob2 = makeParty('bob2', { serviceId: bob.address.name });
    parties.push(bob2);
    await bob2.manager.processPreKeyBundle(alice.address, await alice.bundle());
    const fromNewBob = await bob2.manager.encrypt(alice.address, plaintext());
    secrets.party(bob2, [alice.address]);
    await fails(() => alice.manager.decrypt(bob.address, fromNewBob)); // untrusted identity
    await fails(async () => alice.manager.processPreKeyBundle(bob.address, await bob2.bundle()));
    // A missing signed prekey.
    const carol = makeParty('carol');
    parties.push(carol);
    await carol.manager.processPreKeyBundle(bob2.address, await bob2.bundle());
    const toBob2 = await carol.manager.encrypt(bob2.address, plaintext());
    secrets.party(carol, [bob2.address]);
    secrets.party(bob2, [alice.address, carol.address]);
    const decoded = decodePreKeySignalMessage(toBob2.body);
    bob2.store.removeSignedPreKey(decoded.signedPreKeyId as SignedPreKeyId);
    await fails(() => bob2.manager.decrypt(carol.address, toBob2));
    // A failing store.
    const failing = new FailingStore(IdentityKeyPair.generate(), 42);
    const dave = new SessionManager({
      store: failing,
      localAddress: new ProtocolAddress('dave', 1),
    });
    failing.fail = true;
    await fails(async () => dave.processPreKeyBundle(bob2.address, await bob2.bundle()));
    render(failing, dave);
    collect();
    renderPublicObjects();
    render(...errors);

    // Every error path fired.
    const codes = new Set(errors.map((e) => (e as { code?: string }).code ?? (e as Error).name));
    for (const code of [
      'ERR_DUPLICATE_MESSAGE',
      'ERR_INVALID_MESSAGE',
      'ERR_MESSAGE_GAP_TOO_LARGE',
      'ERR_SESSION_NOT_FOUND',
      'ERR_INVALID_SIGNATURE',
      'ERR_INVALID_RECORD',
      'ERR_INVALID_KEY',
      'ERR_UNTRUSTED_IDENTITY',
      'ERR_MISSING_PREKEY',
      'ERR_STORAGE',
      'TypeError',
    ]) {
      expect(codes, code).toContain(code);
    }
    expect(errors.some((e) => (e as Error).message === 'post-quantum ratchet error')).toBe(true);

    // -- the search --------------------------------------------------------------------------------
    const text = rendered.join('\n');
    const index = new TextIndex(text);
    expect(secrets.bytes.size).toBeGreaterThan(1_000);
    const leaks: string[] = [];
    for (const [hex, secret] of secrets.bytes) {
      const how = index.leak(secret);
      if (how !== undefined)
        leaks.push(`${String(secret.length)}-byte secret ${hex.slice(0, 8)}… leaks as ${how}`);
    }
    for (const t of secrets.texts) if (text.includes(t)) leaks.push(`plaintext "${t}" leaks raw`);
    expect(leaks).toEqual([]);
    // Controls: the raw state (hazmat data, not a public rendering) does show collected secrets,
    // and a planted secret is found in every form.
    const raw = inspect((alice.store.loadSession(bob.address) as SessionRecord).currentState, {
      depth: Infinity,
      maxArrayLength: Infinity,
    });
    const rawIndex = new TextIndex(raw);
    expect([...secrets.bytes.values()].some((b) => rawIndex.leak(b) !== undefined)).toBe(true);
    const planted = [...secrets.bytes.values()][0] as Uint8Array;
    for (const form of [
      Buffer.from(planted).toString('hex'),
      Buffer.from(planted).toString('base64'),
      inspect(planted),
      inspect(Buffer.from(planted)),
      Buffer.from(planted).toString('latin1'),
    ]) {
      expect(new TextIndex(`x ${form} y`).leak(planted)).toBeDefined();
    }
  });
});

// ------------------------------------------------------------------------------------------
// Static checks of src/
// ------------------------------------------------------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

/** Module specifiers, `console` uses and Node globals of one file, from its syntax tree. */
function scan(file: string): {
  imports: Finding[];
  consoles: Finding[];
  globals: Finding[];
  constantTime: Finding[];
} {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const rel = path.relative(repoRoot, file);
  const at = (node: ts.Node): number =>
    sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const out = {
    imports: [] as Finding[],
    consoles: [] as Finding[],
    globals: [] as Finding[],
    constantTime: [] as Finding[],
  };
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      out.imports.push({ file: rel, line: at(node), what: node.moduleSpecifier.text });
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const arg = node.arguments[0];
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (ts.isIdentifier(callee) && callee.text === 'equalConstantTime') {
        out.constantTime.push({ file: rel, line: at(node), what: 'equalConstantTime' });
      }
      if ((isImport || isRequire) && arg !== undefined) {
        out.imports.push({
          file: rel,
          line: at(node),
          what: ts.isStringLiteral(arg) ? arg.text : '<computed specifier>',
        });
      }
    }
    if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      out.imports.push({ file: rel, line: at(node), what: node.argument.literal.text });
    }
    if (ts.isIdentifier(node) && node.text === 'console')
      out.consoles.push({ file: rel, line: at(node), what: 'console' });
    if (ts.isIdentifier(node) && (node.text === 'process' || node.text === 'Buffer')) {
      const parent = node.parent;
      // Only free uses (not property names like `x.process` or object keys).
      const isProperty = ts.isPropertyAccessExpression(parent) && parent.name === node;
      const isKey = ts.isPropertyAssignment(parent) && parent.name === node;
      if (!isProperty && !isKey) out.globals.push({ file: rel, line: at(node), what: node.text });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('src/ never logs and stays runtime-neutral', () => {
  const files = sourceFiles(path.join(repoRoot, 'src'));
  const results = files.map(scan);
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const isBuiltin = (spec: string): boolean =>
    spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0] as string);
  const outsideAdapters = (f: Finding): boolean =>
    !f.file.startsWith(`src${path.sep}adapters${path.sep}`);

  it('parses every file of src/', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it('no console.* anywhere in src/', () => {
    expect(results.flatMap((r) => r.consoles).map((f) => `${f.file}:${String(f.line)}`)).toEqual(
      [],
    );
  });

  it('no Node built-in module imported outside src/adapters/', () => {
    const found = results
      .flatMap((r) => r.imports)
      .filter(
        (f) => outsideAdapters(f) && (isBuiltin(f.what) || f.what === '<computed specifier>'),
      );
    expect(found.map((f) => `${f.file}:${String(f.line)} ${f.what}`)).toEqual([]);
  });

  it('no process or Buffer global outside src/adapters/', () => {
    const found = results.flatMap((r) => r.globals).filter(outsideAdapters);
    expect(found.map((f) => `${f.file}:${String(f.line)} ${f.what}`)).toEqual([]);
  });

  it('docs/security.md names every constant-time comparison site', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs', 'security.md'), 'utf8');
    const sites = new Set(
      results.flatMap((r) => r.constantTime).map((f) => f.file.split(path.sep).join('/')),
    );
    expect(sites.size).toBeGreaterThanOrEqual(3);
    for (const file of sites)
      expect(doc, `docs/security.md should list ${file}`).toContain(`\`${file}\``);
  });

  it('the scanner itself sees imports, console and globals', () => {
    const probe = path.join(repoRoot, 'test', 'hardening', 'hygiene.test.ts');
    const r = scan(probe);
    expect(r.imports.map((f) => f.what)).toContain('node:fs');
    expect(r.globals.map((f) => f.what)).toContain('Buffer');
  });
});
