/**
 * `2key-ratchet` 1.0.18 (Peculiar Ventures): its own X3DH variant and Double Ratchet over
 * WebCrypto P-256 (ECDH + ECDSA), HMAC and AES-CBC; not Signal-wire-compatible, no Kyber, no
 * SPQR.
 *
 * Its session state (`AsymmetricRatchet.toJSON()`) holds non-extractable `CryptoKey`s, so it
 * cannot become bytes or a string; it is persisted as an app would in IndexedDB: a structured
 * clone of the JSON, rebuilt with `fromJSON` on every load. For the same reason its record size
 * is not measurable.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type * as TwoKey from '2key-ratchet';
import type { DHRatchetStep } from '2key-ratchet/dist/types/asym_ratchet';
import type { Bundle, Implementation, Party, WireMessage } from '../types.js';

const lib = createRequire(import.meta.url)('2key-ratchet') as typeof TwoKey;
lib.setEngine('@node/webcrypto', globalThis.crypto);

/** What the store keeps per peer (structured-cloned, as IndexedDB would). */
interface StoredSession {
  readonly ratchet: Awaited<ReturnType<TwoKey.AsymmetricRatchet['toJSON']>>;
  readonly remote: Awaited<ReturnType<TwoKey.RemoteIdentity['toJSON']>>;
  readonly remotePreKeyId: number | undefined;
  readonly remotePreKeySignedId: number;
  /**
   * The current DH step while it is not yet on the step stack (a fresh initiator's): `toJSON()`
   * only saves the stack, so without this a reloaded initiator could not encrypt.
   */
  readonly pendingStep: Awaited<ReturnType<DHRatchetStep['toJSON']>> | undefined;
}

/** `DHRatchetStep` is not exported; its class is reached through an instance. */
type StepClass = { fromJSON(obj: StoredSession['pendingStep']): Promise<DHRatchetStep> };

const toArrayBuffer = (b: Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

async function twoKeyParty(name: string): Promise<Party> {
  const identity = await lib.Identity.create(1 + Math.floor(Math.random() * 16000), 0, 0);
  const sessions = new Map<string, StoredSession>();

  const save = async (peer: string, ratchet: TwoKey.AsymmetricRatchet): Promise<void> => {
    const json = await ratchet.toJSON();
    sessions.set(
      peer,
      structuredClone({
        ratchet: json,
        pendingStep: json.steps.length === 0 ? await ratchet.currentStep.toJSON() : undefined,
        remote: await ratchet.remoteIdentity.toJSON(),
        remotePreKeyId: ratchet.remotePreKeyId,
        remotePreKeySignedId: ratchet.remotePreKeySignedId,
      }),
    );
  };
  const load = async (peer: string): Promise<TwoKey.AsymmetricRatchet> => {
    const stored = sessions.get(peer);
    if (stored === undefined) throw new Error(`no session with ${peer}`);
    const s = structuredClone(stored);
    const remote = await lib.RemoteIdentity.fromJSON(s.remote);
    const ratchet = await lib.AsymmetricRatchet.fromJSON(identity, remote, s.ratchet);
    if (s.remotePreKeyId !== undefined) ratchet.remotePreKeyId = s.remotePreKeyId;
    ratchet.remotePreKeySignedId = s.remotePreKeySignedId;
    if (s.pendingStep !== undefined) {
      const Step = ratchet.currentStep.constructor as unknown as StepClass;
      ratchet.currentStep = await Step.fromJSON(s.pendingStep);
    }
    return ratchet;
  };

  return {
    name,
    async bundle() {
      const signed = await lib.Curve.generateKeyPair('ECDH', false);
      const pre = await lib.Curve.generateKeyPair('ECDH', false);
      identity.signedPreKeys.push(signed);
      identity.preKeys.push(pre);
      const bundle = new lib.PreKeyBundleProtocol();
      await bundle.identity.fill(identity);
      bundle.registrationId = identity.id;
      bundle.preKey.id = identity.preKeys.length - 1;
      bundle.preKey.key = pre.publicKey;
      bundle.preKeySigned.id = identity.signedPreKeys.length - 1;
      bundle.preKeySigned.key = signed.publicKey;
      await bundle.preKeySigned.sign(identity.signingKey.privateKey);
      return bundle;
    },
    async processBundle(peer: string, bundle: Bundle) {
      const ratchet = await lib.AsymmetricRatchet.create(
        identity,
        bundle as TwoKey.PreKeyBundleProtocol,
      );
      await save(peer, ratchet);
    },
    async encrypt(peer: string, plaintext: Uint8Array): Promise<WireMessage> {
      const ratchet = await load(peer);
      const m = await ratchet.encrypt(toArrayBuffer(plaintext));
      await save(peer, ratchet);
      const type = m instanceof lib.PreKeyMessageProtocol ? 'prekey' : 'whisper';
      return { type, body: new Uint8Array(await m.exportProto()) };
    },
    async decrypt(peer: string, message: WireMessage): Promise<Uint8Array> {
      const body = toArrayBuffer(message.body);
      let ratchet: TwoKey.AsymmetricRatchet;
      let signed: TwoKey.MessageSignedProtocol;
      if (message.type === 'prekey') {
        const proto = await lib.PreKeyMessageProtocol.importProto(body);
        ratchet = sessions.has(peer)
          ? await load(peer)
          : await lib.AsymmetricRatchet.create(identity, proto);
        signed = proto.signedMessage;
      } else {
        ratchet = await load(peer);
        signed = await lib.MessageSignedProtocol.importProto(body);
      }
      const plaintext = await ratchet.decrypt(signed);
      await save(peer, ratchet);
      return new Uint8Array(plaintext);
    },
    async recordSize() {
      return undefined;
    },
  };
}

const implementation: Implementation = {
  id: '2key-ratchet',
  label: '2key-ratchet 1.0.18',
  protocol: 'own X3DH variant + Double Ratchet on P-256 (WebCrypto), no Kyber, no SPQR',
  storage: 'structured clone of toJSON() (CryptoKeys cannot be serialized)',
  createParty: twoKeyParty,
};
export default implementation;
