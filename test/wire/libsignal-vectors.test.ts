/**
 * The PreKeySignalMessages recorded from libsignal 0.90 and 0.103 (libsignal-wire.md Appendix A):
 * chiffre parses them to the expected ids and keys, and re-encoding the parsed fields gives the
 * recorded bytes back — so chiffre writes fields in libsignal's order and encoding.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  attachMac,
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
} from '../../src/wire/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import { loadSessionVector } from '../support/session-helpers.js';

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe.each(['vector_090.json', 'vector_103.json'] as const)(
  'recorded libsignal message %s',
  (file) => {
    const v = loadSessionVector(file);
    const wire = hexToBytes(v.preKeySignalMessage);
    const is103 = file === 'vector_103.json';

    it('has the recorded length (1775 / 1814 bytes) and starts with 0x44', () => {
      expect(wire.length).toBe(is103 ? 1814 : 1775);
      expect(wire[0]).toBe(0x44);
    });

    it('decodes to the expected ids and keys', () => {
      const m = decodePreKeySignalMessage(wire);
      expect(m.messageVersion).toBe(4);
      expect(m.registrationId).toBe(1111);
      expect(m.preKeyId).toBe(31);
      expect(m.signedPreKeyId).toBe(41);
      expect(m.kyberPreKeyId).toBe(51);
      expect(m.preKeyId).toBe(v.bob.oneTimePreKeyId);
      expect(m.signedPreKeyId).toBe(v.bob.signedPreKeyId);
      expect(m.kyberPreKeyId).toBe(v.bob.kyberPreKeyId);
      expect(m.baseKey.toHex()).toBe(v.derived.aliceBaseKey33);
      expect(m.identityKey.toHex()).toBe(v.derived.aliceIdentityPub33);
      const ct = m.kyberCiphertext!;
      expect(ct.length).toBe(1569);
      expect(ct[0]).toBe(0x08);
      expect(sha256Hex(ct)).toBe(v.derived.kyberCiphertext1569_sha256);
    });

    it('has an inner SignalMessage with counter 0, field 5 present, field 6 only in 0.103', () => {
      const inner = decodePreKeySignalMessage(wire).signalMessage;
      expect(inner.messageVersion).toBe(4);
      expect(inner.counter).toBe(0);
      expect(inner.previousCounter).toBe(0);
      expect(inner.ratchetKey.toHex()).toBe(v.derived.aliceRatchetKey33);
      expect(bytesToHex(inner.mac)).toBe(v.derived.innerMac8);
      expect(inner.ciphertext.length).toBe(32); // 24-byte plaintext, PKCS#7
      const pq = inner.pqRatchet!;
      expect(pq).toBeDefined();
      // SPQR V1 message: version, epoch, index, type, chunk index, 32 data bytes.
      const s = v.derived.spqr.msg;
      expect(Array.from(pq.subarray(0, 5))).toEqual([
        s.version,
        s.epoch,
        s.index,
        s.type,
        s.chunkIndex,
      ]);
      expect(pq.length).toBe(37);
      if (is103) {
        expect(bytesToHex(inner.addresses!)).toBe(v.derived.addresses);
        expect(inner.addresses!.length).toBe(36);
      } else {
        expect(inner.addresses).toBeUndefined();
        expect(v.derived.addresses).toBeNull();
      }
    });

    it('re-encodes byte for byte (tag order, counter 0 written, same varints)', () => {
      const m = decodePreKeySignalMessage(wire);
      const inner = m.signalMessage;
      const body = encodeSignalMessageBody(inner);
      expect(body).toEqual(inner.macInput);
      expect(attachMac(body, inner.mac)).toEqual(m.message);
      expect(encodePreKeySignalMessage(m)).toEqual(wire);
      // The inner message on its own decodes identically.
      expect(decodeSignalMessage(m.message).counter).toBe(0);
    });

    it('the inner message starts 0x44, 0a 21 05 … (field 1, 33-byte key), then 10 00 18 00', () => {
      const inner = decodePreKeySignalMessage(wire).message;
      expect(Array.from(inner.subarray(0, 4))).toEqual([0x44, 0x0a, 0x21, 0x05]);
      expect(Array.from(inner.subarray(36, 40))).toEqual([0x10, 0x00, 0x18, 0x00]);
    });
  },
);
