/**
 * The SCKA of SPQR V1 (the "ML-KEM Braid"): the chunked state machine that agrees one 32-byte
 * epoch secret per epoch over ML-KEM-768, one 32-byte erasure-coded chunk per message. Roles
 * alternate per epoch: the `send_ek` side samples a key pair and streams the header (with its
 * MAC) and the encapsulation key; the `send_ct` side streams ct1 as soon as the header arrived,
 * then ct2 (with its MAC) once it has the key. When an epoch completes, the roles swap.
 *
 * Transitions follow upstream spqr exactly (states, which payloads each state acts on, which it
 * ignores, and `epoch-out-of-range` for messages from a later epoch). Immutable: `sckaSend` and
 * `sckaRecv` return new states and never mutate their input.
 *
 * @module
 */
import { SPQR_MAC_LENGTH, SPQR_SCKA_KEY_INFO } from '../constants.js';
import {
  concatBytes,
  hkdfSha256,
  MLKEM768_CT1_LENGTH,
  MLKEM768_CT2_LENGTH,
  MLKEM768_EK_LENGTH,
  MLKEM768_HEADER_LENGTH,
  mlkem768Decapsulate,
  mlkem768Encaps1,
  mlkem768Encaps2,
  type MlKem768EncapsState,
  mlkem768Generate,
  mlkem768HeaderMatchesEk,
  type RandomSource,
} from '../primitives/index.js';
import {
  type Authenticator,
  epochBytes,
  initialAuthenticator,
  macCiphertext,
  macHeader,
  updateAuthenticator,
  verifyCiphertextMac,
  verifyHeaderMac,
} from './authenticator.js';
import { ChunkDecoder, ChunkEncoder } from './erasure.js';
import { SpqrError } from './errors.js';
import type { SpqrMessage, SpqrPayload } from './message.js';

const HEADER_WITH_MAC = MLKEM768_HEADER_LENGTH + SPQR_MAC_LENGTH;
const CT2_WITH_MAC = MLKEM768_CT2_LENGTH + SPQR_MAC_LENGTH;

interface Base {
  readonly epoch: number;
  readonly auth: Authenticator;
}

/** The SCKA state: five `send_ek` states and six `send_ct` states, as upstream. */
export type SckaState =
  // send_ek role
  | (Base & { readonly kind: 'keys-unsampled' })
  | (Base & {
      readonly kind: 'keys-sampled';
      readonly ek: Uint8Array;
      readonly dk: Uint8Array;
      readonly sendingHeader: ChunkEncoder;
    })
  | (Base & {
      readonly kind: 'header-sent';
      readonly dk: Uint8Array;
      readonly sendingEk: ChunkEncoder;
      readonly receivingCt1: ChunkDecoder;
    })
  | (Base & {
      readonly kind: 'ct1-received';
      readonly dk: Uint8Array;
      readonly ct1: Uint8Array;
      readonly sendingEk: ChunkEncoder;
    })
  | (Base & {
      readonly kind: 'ek-sent-ct1-received';
      readonly dk: Uint8Array;
      readonly ct1: Uint8Array;
      readonly receivingCt2: ChunkDecoder;
    })
  // send_ct role
  | (Base & { readonly kind: 'no-header-received'; readonly receivingHeader: ChunkDecoder })
  | (Base & {
      readonly kind: 'header-received';
      readonly header: Uint8Array;
      readonly receivingEk: ChunkDecoder;
    })
  | (Base & {
      readonly kind: 'ct1-sampled';
      readonly header: Uint8Array;
      readonly encaps: MlKem768EncapsState;
      readonly ct1: Uint8Array;
      readonly sendingCt1: ChunkEncoder;
      readonly receivingEk: ChunkDecoder;
    })
  | (Base & {
      readonly kind: 'ek-received-ct1-sampled';
      readonly encaps: MlKem768EncapsState;
      readonly ek: Uint8Array;
      readonly ct1: Uint8Array;
      readonly sendingCt1: ChunkEncoder;
    })
  | (Base & {
      readonly kind: 'ct1-acknowledged';
      readonly header: Uint8Array;
      readonly encaps: MlKem768EncapsState;
      readonly ct1: Uint8Array;
      readonly receivingEk: ChunkDecoder;
    })
  | (Base & { readonly kind: 'ct2-sampled'; readonly sendingCt2: ChunkEncoder });

/** Every SCKA state kind. */
export type SckaKind = SckaState['kind'];

/** An epoch secret produced by the SCKA, to be added to the chain. */
export interface EpochSecret {
  readonly epoch: number;
  readonly secret: Uint8Array;
}

/** Initial state of the initiator (A2B): `send_ek` at epoch 1. */
export function initialSckaA(authKey: Uint8Array): SckaState {
  return { kind: 'keys-unsampled', epoch: 1, auth: initialAuthenticator(authKey) };
}

/** Initial state of the responder (B2A): `send_ct` at epoch 1. */
export function initialSckaB(authKey: Uint8Array): SckaState {
  return {
    kind: 'no-header-received',
    epoch: 1,
    auth: initialAuthenticator(authKey),
    receivingHeader: new ChunkDecoder(HEADER_WITH_MAC),
  };
}

function epochSecret(sharedSecret: Uint8Array, epoch: number): Uint8Array {
  return hkdfSha256(
    sharedSecret,
    new Uint8Array(32),
    concatBytes(SPQR_SCKA_KEY_INFO, epochBytes(epoch)),
    32,
  );
}

/** Result of {@link sckaSend}. */
export interface SckaSend {
  readonly state: SckaState;
  readonly message: Omit<SpqrMessage, 'index'>;
  readonly epochSecret: EpochSecret | undefined;
}

/** Produce this message's SCKA payload. */
export function sckaSend(state: SckaState, random: RandomSource): SckaSend {
  const epoch = state.epoch;
  const out = (next: SckaState, payload: SpqrPayload, secret?: EpochSecret): SckaSend => ({
    state: next,
    message: { epoch, payload },
    epochSecret: secret,
  });
  switch (state.kind) {
    case 'keys-unsampled': {
      const keys = mlkem768Generate(random);
      const mac = macHeader(state.auth, epoch, keys.header);
      const { encoder, chunk } = new ChunkEncoder(concatBytes(keys.header, mac)).nextChunk();
      return out(
        {
          kind: 'keys-sampled',
          epoch,
          auth: state.auth,
          ek: keys.ek,
          dk: keys.dk,
          sendingHeader: encoder,
        },
        { type: 'hdr', chunk },
      );
    }
    case 'keys-sampled': {
      const { encoder, chunk } = state.sendingHeader.nextChunk();
      return out({ ...state, sendingHeader: encoder }, { type: 'hdr', chunk });
    }
    case 'header-sent': {
      const { encoder, chunk } = state.sendingEk.nextChunk();
      return out({ ...state, sendingEk: encoder }, { type: 'ek', chunk });
    }
    case 'ct1-received': {
      const { encoder, chunk } = state.sendingEk.nextChunk();
      return out({ ...state, sendingEk: encoder }, { type: 'ek-ct1-ack', chunk });
    }
    case 'ek-sent-ct1-received':
      return out(state, { type: 'ct1-ack' });
    case 'no-header-received':
      return out(state, { type: 'none' });
    case 'header-received': {
      const encaps = mlkem768Encaps1(state.header, random);
      const secret = epochSecret(encaps.sharedSecret, epoch);
      const auth = updateAuthenticator(state.auth, epoch, secret);
      const { encoder, chunk } = new ChunkEncoder(encaps.ct1).nextChunk();
      return out(
        {
          kind: 'ct1-sampled',
          epoch,
          auth,
          header: state.header,
          encaps: encaps.state,
          ct1: encaps.ct1,
          sendingCt1: encoder,
          receivingEk: state.receivingEk,
        },
        { type: 'ct1', chunk },
        { epoch, secret },
      );
    }
    case 'ct1-sampled': {
      const { encoder, chunk } = state.sendingCt1.nextChunk();
      return out({ ...state, sendingCt1: encoder }, { type: 'ct1', chunk });
    }
    case 'ek-received-ct1-sampled': {
      const { encoder, chunk } = state.sendingCt1.nextChunk();
      return out({ ...state, sendingCt1: encoder }, { type: 'ct1', chunk });
    }
    case 'ct1-acknowledged':
      return out(state, { type: 'none' });
    case 'ct2-sampled': {
      const { encoder, chunk } = state.sendingCt2.nextChunk();
      return out({ ...state, sendingCt2: encoder }, { type: 'ct2', chunk });
    }
  }
}

/** Result of {@link sckaRecv}. */
export interface SckaRecv {
  readonly state: SckaState;
  readonly epochSecret: EpochSecret | undefined;
}

/** The send_ct side, holding ek: compute ct2 and its MAC and start streaming them. */
function sendCt2(
  epoch: number,
  auth: Authenticator,
  encaps: MlKem768EncapsState,
  ek: Uint8Array,
  ct1: Uint8Array,
): SckaState {
  const ct2 = mlkem768Encaps2(ek, encaps);
  const mac = macCiphertext(auth, epoch, concatBytes(ct1, ct2));
  return {
    kind: 'ct2-sampled',
    epoch,
    auth,
    sendingCt2: new ChunkEncoder(concatBytes(ct2, mac)),
  };
}

/** The ek arrived complete: it must match the header it was announced with. */
function checkEk(header: Uint8Array, ek: Uint8Array): void {
  if (!mlkem768HeaderMatchesEk(header, ek)) throw new SpqrError('erroneous-data');
}

/**
 * Act on a received SCKA message. Payloads a state does not expect, and messages of earlier
 * epochs, are ignored; a later epoch is an error (except the one step from `ct2-sampled`).
 *
 * @throws {SpqrError} `epoch-out-of-range`, `mac`, `erroneous-data`
 */
export function sckaRecv(state: SckaState, message: SpqrMessage): SckaRecv {
  const same = (s: SckaState): SckaRecv => ({ state: s, epochSecret: undefined });
  if (message.epoch > state.epoch) {
    if (state.kind === 'ct2-sampled' && message.epoch === state.epoch + 1) {
      return same({ kind: 'keys-unsampled', epoch: message.epoch, auth: state.auth });
    }
    throw new SpqrError('epoch-out-of-range');
  }
  if (message.epoch < state.epoch) return same(state);
  const epoch = state.epoch;
  const p = message.payload;
  switch (state.kind) {
    case 'keys-unsampled':
    case 'header-received':
    case 'ct2-sampled':
      return same(state);
    case 'keys-sampled': {
      if (p.type !== 'ct1') return same(state);
      return same({
        kind: 'header-sent',
        epoch,
        auth: state.auth,
        dk: state.dk,
        sendingEk: new ChunkEncoder(state.ek),
        receivingCt1: new ChunkDecoder(MLKEM768_CT1_LENGTH).withChunk(p.chunk.index, p.chunk.data),
      });
    }
    case 'header-sent': {
      if (p.type !== 'ct1') return same(state);
      const receivingCt1 = state.receivingCt1.withChunk(p.chunk.index, p.chunk.data);
      const ct1 = receivingCt1.message();
      if (ct1 === undefined) return same({ ...state, receivingCt1 });
      return same({
        kind: 'ct1-received',
        epoch,
        auth: state.auth,
        dk: state.dk,
        ct1,
        sendingEk: state.sendingEk,
      });
    }
    case 'ct1-received': {
      if (p.type !== 'ct2') return same(state);
      return same({
        kind: 'ek-sent-ct1-received',
        epoch,
        auth: state.auth,
        dk: state.dk,
        ct1: state.ct1,
        receivingCt2: new ChunkDecoder(CT2_WITH_MAC).withChunk(p.chunk.index, p.chunk.data),
      });
    }
    case 'ek-sent-ct1-received': {
      if (p.type !== 'ct2') return same(state);
      const receivingCt2 = state.receivingCt2.withChunk(p.chunk.index, p.chunk.data);
      const decoded = receivingCt2.message();
      if (decoded === undefined) return same({ ...state, receivingCt2 });
      const ct2 = decoded.subarray(0, MLKEM768_CT2_LENGTH);
      const mac = decoded.subarray(MLKEM768_CT2_LENGTH);
      const secret = epochSecret(mlkem768Decapsulate(state.dk, state.ct1, ct2), epoch);
      const auth = updateAuthenticator(state.auth, epoch, secret);
      if (!verifyCiphertextMac(auth, epoch, concatBytes(state.ct1, ct2), mac)) {
        throw new SpqrError('mac');
      }
      return {
        state: {
          kind: 'no-header-received',
          epoch: epoch + 1,
          auth,
          receivingHeader: new ChunkDecoder(HEADER_WITH_MAC),
        },
        epochSecret: { epoch, secret },
      };
    }
    case 'no-header-received': {
      if (p.type !== 'hdr') return same(state);
      const receivingHeader = state.receivingHeader.withChunk(p.chunk.index, p.chunk.data);
      const decoded = receivingHeader.message();
      if (decoded === undefined) return same({ ...state, receivingHeader });
      const header = decoded.slice(0, MLKEM768_HEADER_LENGTH);
      if (!verifyHeaderMac(state.auth, epoch, header, decoded.subarray(MLKEM768_HEADER_LENGTH))) {
        throw new SpqrError('mac');
      }
      return same({
        kind: 'header-received',
        epoch,
        auth: state.auth,
        header,
        receivingEk: new ChunkDecoder(MLKEM768_EK_LENGTH),
      });
    }
    case 'ct1-sampled': {
      if (p.type !== 'ek' && p.type !== 'ek-ct1-ack') return same(state);
      const ack = p.type === 'ek-ct1-ack';
      const receivingEk = state.receivingEk.withChunk(p.chunk.index, p.chunk.data);
      const ek = receivingEk.message();
      if (ek !== undefined) {
        checkEk(state.header, ek);
        if (ack) return same(sendCt2(epoch, state.auth, state.encaps, ek, state.ct1));
        return same({
          kind: 'ek-received-ct1-sampled',
          epoch,
          auth: state.auth,
          encaps: state.encaps,
          ek,
          ct1: state.ct1,
          sendingCt1: state.sendingCt1,
        });
      }
      if (ack) {
        return same({
          kind: 'ct1-acknowledged',
          epoch,
          auth: state.auth,
          header: state.header,
          encaps: state.encaps,
          ct1: state.ct1,
          receivingEk,
        });
      }
      return same({ ...state, receivingEk });
    }
    case 'ek-received-ct1-sampled': {
      if (p.type !== 'ct1-ack' && p.type !== 'ek-ct1-ack') return same(state);
      return same(sendCt2(epoch, state.auth, state.encaps, state.ek, state.ct1));
    }
    case 'ct1-acknowledged': {
      if (p.type !== 'ek' && p.type !== 'ek-ct1-ack') return same(state);
      const receivingEk = state.receivingEk.withChunk(p.chunk.index, p.chunk.data);
      const ek = receivingEk.message();
      if (ek === undefined) return same({ ...state, receivingEk });
      checkEk(state.header, ek);
      return same(sendCt2(epoch, state.auth, state.encaps, ek, state.ct1));
    }
  }
}
