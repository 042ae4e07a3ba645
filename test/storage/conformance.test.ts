/**
 * The storage conformance kit (`chiffre/testing`) run against the stores in this package: the
 * in-memory reference store, `BackendProtocolStore` over `MemoryBackend`, and the same over
 * `encryptedBackend`. Also checks that the kit itself catches broken adapters.
 */
import { describe, expect, it } from 'vitest';
import { IdentityKeyPair } from '../../src/keys/index.js';
import {
  BackendProtocolStore,
  encryptedBackend,
  InMemoryProtocolStore,
  MemoryBackend,
  type RecordBackend,
  type RecordBatch,
  type RecordKind,
  type StoredRecord,
} from '../../src/storage/index.js';
import {
  type ConformanceCase,
  type ConformanceTarget,
  storeConformanceCases,
} from '../../src/testing/index.js';

const createIdentity = (): { identity: IdentityKeyPair; registrationId: number } => ({
  identity: IdentityKeyPair.generate(),
  registrationId: 4242,
});

/**
 * A backend whose next write, once armed, fails after the batch's checks and application write
 * (the latest point a `MemoryBackend` write can fail): a stand-in for a disk error mid-transaction.
 */
class FailingBackend implements RecordBackend {
  readonly inner: RecordBackend;
  armed = false;
  constructor(inner: RecordBackend) {
    this.inner = inner;
  }
  get(kind: RecordKind, id: string): Promise<StoredRecord | null> | StoredRecord | null {
    return this.inner.get(kind, id);
  }
  async write(batch: RecordBatch): Promise<void> {
    if (!this.armed) return this.inner.write(batch);
    this.armed = false;
    await this.inner.write({
      ...batch,
      applicationWrite: async (tx) => {
        await batch.applicationWrite?.(tx);
        throw new Error('injected: disk I/O error');
      },
    });
  }
  count(kind: RecordKind): Promise<number> | number {
    return this.inner.count(kind);
  }
  ids(kind: RecordKind): Promise<string[]> | string[] {
    return this.inner.ids(kind);
  }
}

async function backendTarget(
  wrap: (b: RecordBackend) => RecordBackend,
): Promise<ConformanceTarget> {
  const engine = new FailingBackend(new MemoryBackend());
  return {
    store: await BackendProtocolStore.open(wrap(engine), { createIdentity }),
    reopen: () => BackendProtocolStore.open(wrap(engine), { createIdentity }),
    injectFailure: () => {
      engine.armed = true;
    },
  };
}

const key = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);

const targets: Record<string, () => ConformanceTarget | Promise<ConformanceTarget>> = {
  // An in-memory store has no second connection: a "re-open" is the same object, which is exactly
  // what another handle on the same data sees.
  InMemoryProtocolStore: () => {
    const store = new InMemoryProtocolStore(IdentityKeyPair.generate(), 4242);
    return { store, reopen: () => store };
  },
  'BackendProtocolStore(MemoryBackend)': () => backendTarget((b) => b),
  'BackendProtocolStore(encryptedBackend(MemoryBackend))': () =>
    backendTarget((b) => encryptedBackend(b, key)),
};

for (const [name, factory] of Object.entries(targets)) {
  describe(`storage conformance: ${name}`, () => {
    for (const c of storeConformanceCases(factory)) it(c.name, c.run);
  });
}

// -- the kit catches broken adapters -------------------------------------------------------------

/** Applies a batch one write at a time; armed, it throws after the first put (no atomicity). */
class NonAtomicBackend extends MemoryBackend {
  armed = false;
  override async write(batch: RecordBatch): Promise<void> {
    const armed = this.armed;
    this.armed = false;
    for (const [i, put] of batch.puts.entries()) {
      await super.write({ puts: [put], deletes: [] });
      if (armed && i === 0) throw new Error('injected');
    }
    await super.write({
      puts: [],
      deletes: batch.deletes,
      applicationWrite: batch.applicationWrite,
    });
  }
}

/** Ignores compare-and-swap expectations. */
class UncheckedBackend extends MemoryBackend {
  override write(batch: RecordBatch): Promise<void> {
    return super.write({
      ...batch,
      puts: batch.puts.map((p) => ({ ...p, expectedVersion: undefined })),
      deletes: batch.deletes.map((d) => ({ ...d, expectedVersion: undefined })),
    });
  }
}

async function expectCaseFails(
  cases: ConformanceCase[],
  name: string,
  message: RegExp,
): Promise<void> {
  const c = cases.find((x) => x.name.startsWith(name));
  expect(c, name).toBeDefined();
  await expect(c!.run()).rejects.toMatchObject({
    name: 'ConformanceError',
    message: expect.stringMatching(message),
  });
}

describe('the conformance kit catches broken adapters', () => {
  it('a non-atomic commit fails the injected-failure case', async () => {
    const cases = storeConformanceCases(async () => {
      const backend = new NonAtomicBackend();
      return {
        store: await BackendProtocolStore.open(backend, { createIdentity }),
        injectFailure: () => {
          backend.armed = true;
        },
      };
    });
    await expectCaseFails(
      cases,
      'change set: a failure injected mid-commit',
      /the store changed \(session/,
    );
  });

  it('ignoring expectedVersion fails the compare-and-swap cases and concurrent managers', async () => {
    const cases = storeConformanceCases(async () => ({
      store: await BackendProtocolStore.open(new UncheckedBackend(), { createIdentity }),
    }));
    await expectCaseFails(
      cases,
      'compare-and-swap: a stale expectedVersion',
      /expected it to fail, but it succeeded/,
    );
    await expectCaseFails(cases, 'compare-and-swap: expectedVersion null', /expected it to fail/);
    await expectCaseFails(cases, 'compare-and-swap: removeSession', /expected it to fail/);
    await expectCaseFails(cases, 'session manager: two managers on one store', /./);
  });

  it('a store that forgets last-resort Kyber uses fails the Kyber case', async () => {
    class Forgetful extends MemoryBackend {
      override write(batch: RecordBatch): Promise<void> {
        return super.write({ ...batch, puts: batch.puts.filter((p) => p.kind !== 'kyber-use') });
      }
    }
    const cases = storeConformanceCases(async () => ({
      store: await BackendProtocolStore.open(new Forgetful(), { createIdentity }),
    }));
    await expectCaseFails(
      cases,
      'Kyber: a last-resort use',
      /ERR_INVALID_MESSAGE|expected it to fail/,
    );
  });

  it('a case that needs reopen() says so when the target lacks it', async () => {
    const cases = storeConformanceCases(() => ({
      store: new InMemoryProtocolStore(IdentityKeyPair.generate(), 1),
    }));
    await expectCaseFails(cases, 'durability:', /needs target.reopen\(\)/);
  });
});
