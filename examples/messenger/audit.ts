/**
 * Checks that a SQLite database holds none of the given secrets: every cell of every table (blob,
 * text, as raw bytes and as the secret's base64 and hex spellings), and the raw database and WAL
 * files (which also hold freed pages). Used by the demo and the end-to-end test on the server's
 * database, with the conversation's plaintexts and the clients' private keys as needles.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { kyberPreKeyId, preKeyId, signedPreKeyId } from '../../src/index.js';
import { openSqliteProtocolStore } from '../../src/adapters/sqlite.js';

/** A secret to look for. Needles shorter than 8 bytes would match ciphertext by chance. */
export interface Needle {
  readonly label: string;
  readonly bytes: Uint8Array;
}

/** Where a needle was found. */
export interface Finding {
  readonly label: string;
  readonly where: string;
}

/** The result of {@link auditDatabase}. */
export interface AuditReport {
  readonly findings: Finding[];
  readonly tables: number;
  readonly cells: number;
  /** Bytes of the database and WAL files scanned raw. */
  readonly fileBytes: number;
}

function spellings(bytes: Uint8Array): Buffer[] {
  const raw = Buffer.from(bytes);
  return [raw, Buffer.from(raw.toString('base64')), Buffer.from(raw.toString('hex'))];
}

/**
 * Look for `needles` in the database at `path` (opened read-only; another process may keep
 * writing it).
 *
 * @throws {RangeError} for a needle shorter than 8 bytes
 */
export function auditDatabase(path: string, needles: readonly Needle[]): AuditReport {
  for (const n of needles) {
    if (n.bytes.length < 8) throw new RangeError(`needle "${n.label}" is shorter than 8 bytes`);
  }
  const forms = needles.map((n) => ({ label: n.label, forms: spellings(n.bytes) }));
  const findings: Finding[] = [];
  const search = (haystack: Buffer, where: string): void => {
    for (const { label, forms: f } of forms) {
      if (f.some((form) => haystack.includes(form))) findings.push({ label, where });
    }
  };

  const db = new Database(path, { readonly: true, fileMustExist: true });
  let tables = 0;
  let cells = 0;
  try {
    const names = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as {
      name: string;
    }[];
    for (const { name } of names) {
      tables++;
      const rows = db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all() as Record<
        string,
        unknown
      >[];
      rows.forEach((row, i) => {
        for (const [column, value] of Object.entries(row)) {
          cells++;
          if (value instanceof Uint8Array) search(Buffer.from(value), `${name}[${i}].${column}`);
          else if (typeof value === 'string') {
            search(Buffer.from(value, 'utf8'), `${name}[${i}].${column}`);
          }
        }
      });
    }
  } finally {
    db.close();
  }
  let fileBytes = 0;
  for (const file of [path, `${path}-wal`]) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    fileBytes += bytes.length;
    search(bytes, file);
  }
  return { findings, tables, cells, fileBytes };
}

/**
 * A device's private keys, read from its SQLite file through chiffre's store (read-only): the
 * identity key, and every stored signed, last-resort Kyber and one-time prekey. Kyber secret keys
 * (3,168 bytes) are searched as three 32-byte slices plus the whole key.
 */
export async function devicePrivateKeys(path: string, label: string): Promise<Needle[]> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const store = await openSqliteProtocolStore(db, {
      createIdentity: () => {
        throw new Error(`${path} has no identity`);
      },
    });
    const backend = store.backend;
    const needles: Needle[] = [
      {
        label: `${label} identity private key`,
        bytes: store.getIdentityKeyPair().privateKey.serialize(),
      },
    ];
    for (const id of await backend.ids('signed-prekey')) {
      const r = await store.loadSignedPreKey(signedPreKeyId(Number(id)));
      if (r !== null) {
        needles.push({
          label: `${label} signed prekey ${id}`,
          bytes: r.keyPair.privateKey.serialize(),
        });
      }
    }
    for (const id of await backend.ids('prekey')) {
      const r = await store.loadPreKey(preKeyId(Number(id)));
      if (r !== null) {
        needles.push({
          label: `${label} one-time prekey ${id}`,
          bytes: r.keyPair.privateKey.serialize(),
        });
      }
    }
    for (const id of await backend.ids('kyber-prekey')) {
      const r = await store.loadKyberPreKey(kyberPreKeyId(Number(id)));
      if (r === null) continue;
      const secret = r.keyPair.secretKey.serialize();
      needles.push({ label: `${label} Kyber prekey ${id}`, bytes: secret });
      for (const at of [1, 1500, secret.length - 33]) {
        needles.push({
          label: `${label} Kyber prekey ${id} @${String(at)}`,
          bytes: secret.slice(at, at + 32),
        });
      }
    }
    return needles;
  } finally {
    db.close();
  }
}
