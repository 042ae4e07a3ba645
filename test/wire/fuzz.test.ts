/**
 * Hostile input into both decoders (STYLE.md 1.11 "Fuzz"): random bytes, structured random
 * protobufs, and random mutations (bit flips, truncations, extensions, insertions, deletions) of
 * valid messages. The only allowed outcomes are success or a chiffre error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSignalError } from '../../src/index.js';
import {
  attachMac,
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
} from '../../src/wire/index.js';
import { hexToBytes } from '../support/hex.js';
import { fcRuns, loadSessionVector, onlySignalErrors } from '../support/session-helpers.js';
import {
  mutate,
  mutationArb,
  rawProtobufArb,
  SAMPLE_KEY,
  SAMPLE_MAC,
  signalFieldsArb,
} from './wire-helpers.js';

const v090 = hexToBytes(loadSessionVector('vector_090.json').preKeySignalMessage);
const v103 = hexToBytes(loadSessionVector('vector_103.json').preKeySignalMessage);
const inner090 = decodePreKeySignalMessage(v090).message;
const inner103 = decodePreKeySignalMessage(v103).message;
const chiffreWhisper = attachMac(
  encodeSignalMessageBody({
    messageVersion: 4,
    ratchetKey: SAMPLE_KEY,
    counter: 17,
    previousCounter: 3,
    ciphertext: new Uint8Array(48).fill(0x5a),
  }),
  SAMPLE_MAC,
);
const chiffrePreKey = encodePreKeySignalMessage({
  messageVersion: 4,
  registrationId: 77,
  preKeyId: undefined,
  signedPreKeyId: 1,
  kyberPreKeyId: 2,
  kyberCiphertext: new Uint8Array(1569).fill(8),
  baseKey: SAMPLE_KEY,
  identityKey: SAMPLE_KEY,
  message: chiffreWhisper,
});
const seeds = [v090, v103, inner090, inner103, chiffreWhisper, chiffrePreKey];

function bothDecoders(bytes: Uint8Array): void {
  onlySignalErrors(() => decodeSignalMessage(bytes));
  onlySignalErrors(() => decodePreKeySignalMessage(bytes));
}

describe('decoders under hostile input', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), bothDecoders), fcRuns(3000));
  });

  it('random bytes behind a valid version byte', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0x33, 0x44),
        fc.uint8Array({ maxLength: 400 }),
        (version, rest) => {
          const input = new Uint8Array(rest.length + 1);
          input[0] = version;
          input.set(rest, 1);
          bothDecoders(input);
        },
      ),
      fcRuns(3000),
    );
  });

  it('structured random protobufs (random fields, wire types, lengths)', () => {
    fc.assert(
      fc.property(rawProtobufArb, fc.constantFrom(0x34, 0x44), (proto, version) => {
        const withMac = new Uint8Array(proto.length + 9);
        withMac[0] = version;
        withMac.set(proto, 1);
        withMac.set(SAMPLE_MAC, proto.length + 1);
        bothDecoders(withMac);
        const noMac = new Uint8Array(proto.length + 1);
        noMac[0] = version;
        noMac.set(proto, 1);
        bothDecoders(noMac);
      }),
      fcRuns(3000),
    );
  });

  it('random mutations of valid messages (recorded libsignal and chiffre-encoded)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        (seed, mutations) => {
          bothDecoders(mutate(seed, mutations));
        },
      ),
      fcRuns(3000),
    );
  });

  it('random single-bit flips of a PreKeySignalMessage: success or ERR_INVALID_MESSAGE / ERR_UNSUPPORTED_VERSION', () => {
    fc.assert(
      fc.property(fc.nat({ max: v090.length * 8 - 1 }), (bit) => {
        const m = v090.slice();
        m[bit >> 3] = (m[bit >> 3] as number) ^ (1 << (bit & 7));
        try {
          decodePreKeySignalMessage(m);
        } catch (e) {
          expect(
            isSignalError(e, 'ERR_INVALID_MESSAGE') || isSignalError(e, 'ERR_UNSUPPORTED_VERSION'),
          ).toBe(true);
        }
      }),
      fcRuns(2000),
    );
  });

  it('random SignalMessages with random trailing garbage never throw anything else', () => {
    fc.assert(
      fc.property(signalFieldsArb, fc.uint8Array({ maxLength: 30 }), (fields, junk) => {
        const body = attachMac(encodeSignalMessageBody(fields), SAMPLE_MAC);
        const input = new Uint8Array(body.length + junk.length);
        input.set(body);
        input.set(junk, body.length);
        bothDecoders(input);
      }),
      fcRuns(1000),
    );
  });
});
