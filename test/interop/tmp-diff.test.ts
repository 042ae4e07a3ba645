import { it } from 'vitest';
import { isSignalError, ProtocolAddress } from '../../src/index.js';
import type { CiphertextMessage } from '../../src/index.js';
import { makeLibsignalParty, toLibsignalBundle } from '../support/libsignal.js';
import { makeParty } from '../support/parties.js';
import { lib, Xorshift } from './helpers.js';

type Impl = 'chiffre' | 'libsignal';
interface Side {
  encrypt(pt: Uint8Array): Promise<CiphertextMessage>;
  decrypt(m: CiphertextMessage): Promise<Uint8Array>;
  start(): Promise<void>;
}

function makeSides(a: Impl, b: Impl): [Side, Side] {
  if (a === 'libsignal' && b === 'libsignal') {
    const A = makeLibsignalParty(lib, 'A');
    const B = makeLibsignalParty(lib, 'B');
    return [
      { encrypt: (pt) => A.encrypt(B.address, pt), decrypt: (m) => A.decrypt(B.address, m), start: () => A.processBundle(B.address, B.bundle()) },
      { encrypt: (pt) => B.encrypt(A.address, pt), decrypt: (m) => B.decrypt(A.address, m), start: () => B.processBundle(A.address, A.bundle()) },
    ];
  }
  const C = makeParty('C');
  const L = makeLibsignalParty(lib, 'L');
  const lAddr = new ProtocolAddress(L.addressName, 1);
  const cAddr = lib.ProtocolAddress.new(C.address.name, 1);
  const c: Side = {
    encrypt: (pt) => C.manager.encrypt(lAddr, pt),
    decrypt: (m) => C.manager.decrypt(lAddr, m),
    start: () => C.manager.processPreKeyBundle(lAddr, L.chiffreBundle()),
  };
  const l: Side = {
    encrypt: (pt) => L.encrypt(cAddr, pt),
    decrypt: (m) => L.decrypt(cAddr, m),
    start: async () => L.processBundle(cAddr, toLibsignalBundle(lib, await C.bundle())),
  };
  return a === 'chiffre' ? [c, l] : [l, c];
}

function classify(e: unknown): string {
  if (isSignalError(e)) return e.code === 'ERR_DUPLICATE_MESSAGE' ? 'dup' : e.code === 'ERR_SESSION_NOT_FOUND' ? 'nosession' : 'err';
  const code = (e as { code?: number }).code;
  if (code === 1) return 'dup';
  const msg = String(e);
  if (/session/i.test(msg) && /no|not found/i.test(msg)) return 'nosession';
  return 'err';
}

async function run(a: Impl, b: Impl, seed: number, steps: number): Promise<string[]> {
  const rng = new Xorshift(seed);
  const sides = makeSides(a, b);
  const pools: { id: number; m: CiphertextMessage }[][] = [[], []];
  const out: string[] = [];
  let id = 0;
  await sides[0].start();
  for (let step = 0; step < steps; step++) {
    const x = rng.int(0, 1);
    const y = 1 - x;
    const r = rng.next();
    if (r < 0.4) {
      const n = rng.int(1, Number(process.env.MAXN ?? 4));
      for (let k = 0; k < n; k++) {
        const pt = new TextEncoder().encode(`m${id}`);
        try {
          const m = await sides[x]!.encrypt(pt);
          pools[y]!.push({ id: id++, m });
          out.push(`${step} enc${x} ${m.type}`);
        } catch (e) {
          out.push(`${step} enc${x} ${classify(e)}`);
        }
      }
    } else if (r < 0.9) {
      const pool = pools[x]!;
      const n = Math.min(pool.length, rng.int(1, 4));
      for (let k = 0; k < n; k++) {
        // Mostly the oldest few, sometimes anything.
        const idx = rng.chance(Number(process.env.P_OLD ?? 0.7)) ? rng.int(0, Math.min(2, pool.length - 1)) : rng.int(0, pool.length - 1);
        const item = pool[idx]!;
        if (!rng.chance(Number(process.env.P_DUP ?? 0.15))) pool.splice(idx, 1);
        try {
          const pt = await sides[x]!.decrypt(item.m);
          const ok = new TextDecoder().decode(pt) === `m${item.id}`;
          out.push(`${step} dec${x} #${item.id} ${ok ? 'ok' : 'WRONG'}`);
        } catch (e) {
          out.push(`${step} dec${x} #${item.id} ${classify(e)}`);
        }
      }
    } else if (r < 0.97) {
      try {
        await sides[x]!.start();
        out.push(`${step} start${x}`);
      } catch (e) {
        out.push(`${step} start${x} ${classify(e)}`);
      }
    } else {
      // drop everything in flight to x
      pools[x]!.length = 0;
      out.push(`${step} drop${x}`);
    }
  }
  return out;
}

it('diff', async () => {
  const report: string[] = [];
  const N = Number(process.env.DIFF_SEEDS ?? 30);
  const STEPS = Number(process.env.DIFF_STEPS ?? 150);
  for (let seed = 1; seed <= N; seed++) {
    const ref = await run('libsignal', 'libsignal', seed, STEPS);
    for (const [a, b] of [['chiffre', 'libsignal'], ['libsignal', 'chiffre']] as const) {
      const got = await run(a, b, seed, STEPS);
      const i = ref.findIndex((v, j) => v !== got[j]);
      if (i >= 0) {
        report.push(`seed ${seed} ${a}/${b} diverges at ${i}: ref=${ref[i]} got=${got[i]}\n   ctx ref: ${ref.slice(Math.max(0, i - 8), i + 2).join(' | ')}\n   ctx got: ${got.slice(Math.max(0, i - 8), i + 2).join(' | ')}`);
      }
    }
  }
  console.log('REPORT', report.length, '\n' + report.join('\n'));
}, 600_000);
it('hist', async () => {
  const h = new Map<string, number>();
  for (let seed = 1; seed <= 10; seed++) {
    for (const line of await run('chiffre', 'libsignal', seed, 150)) {
      const k = line.split(' ').slice(1).filter((t) => !t.startsWith('#')).join(' ');
      h.set(k, (h.get(k) ?? 0) + 1);
    }
  }
  console.log('HIST', JSON.stringify([...h]));
  const { decodePreKeySignalMessage, decodeSignalMessage } = await import('../../src/wire/index.js');
  const [c, l] = makeSides('chiffre', 'libsignal');
  await c.start();
  const m = await c.encrypt(new Uint8Array(3));
  console.log('PQ field5 first', decodePreKeySignalMessage(m.body).signalMessage.pqRatchet?.length);
  await l.decrypt(m);
  const r = await l.encrypt(new Uint8Array(3));
  console.log('lib reply pq', decodeSignalMessage(r.body).pqRatchet?.length);
  await c.decrypt(r);
  const m2 = await c.encrypt(new Uint8Array(3));
  console.log('chiffre 2 pq', decodeSignalMessage(m2.body).pqRatchet?.length);
}, 600_000);
