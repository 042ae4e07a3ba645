/**
 * The small interface every implementation adapter exposes, so that one scenario driver measures
 * them all the same way.
 *
 * @module
 */

/** A message as it travels: its envelope type and its wire bytes. */
export interface WireMessage {
  readonly type: 'prekey' | 'whisper';
  readonly body: Uint8Array;
}

/**
 * A published bundle. Each adapter knows its own shape; the driver only carries it from the
 * responder to the initiator of the same implementation.
 */
export type Bundle = { readonly __bundle: unique symbol } | object;

/** One party: an identity with an in-memory store that keeps records serialized. */
export interface Party {
  /** The name peers use to address this party. */
  readonly name: string;
  /** Publish a bundle built from fresh prekeys (signed, one-time and, where supported, Kyber). */
  bundle(): Promise<Bundle>;
  /** Start a session with `peer` from its bundle. */
  processBundle(peer: string, bundle: Bundle): Promise<void>;
  encrypt(peer: string, plaintext: Uint8Array): Promise<WireMessage>;
  decrypt(peer: string, message: WireMessage): Promise<Uint8Array>;
  /** Bytes of the stored session record with `peer`, or `undefined` when not measurable. */
  recordSize(peer: string): Promise<number | undefined>;
}

/** An implementation under test. */
export interface Implementation {
  /** Stable id, used on the command line and in the JSON. */
  readonly id: string;
  /** Human-readable name with version. */
  readonly label: string;
  /** Key agreement and ratchet the implementation runs between two of its own parties. */
  readonly protocol: string;
  /** How its records are kept in the benchmark's store. */
  readonly storage: string;
  /** A new party called `name`. */
  createParty(name: string): Promise<Party>;
}
