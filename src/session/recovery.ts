/**
 * The usual recovery after a failed decrypt, as a small policy object over a
 * {@link SessionManager}: act on the error's `suggestedAction`, and for a broken session archive
 * it, fetch the peer's fresh bundle, start a new session and tell the peer — rate-limited per
 * peer, so that two peers whose sessions both broke cannot make each other reset in a loop.
 *
 * Transport-agnostic: the application supplies `fetchBundle` and `notifyPeer`.
 *
 * @module
 */
import { isSignalError, type SuggestedAction } from '../errors.js';
import type { ProtocolAddress } from '../keys/index.js';
import type { PreKeyBundle } from './bundle.js';
import type { SessionManager } from './session-manager.js';

/** What {@link SessionRecovery.handleDecryptError} did. */
export type RecoveryOutcome =
  | {
      /** The message was a duplicate; nothing was done. */
      readonly action: 'dropped-duplicate';
    }
  | {
      /** The peer was asked (through `notifyPeer`) to send the message again. */
      readonly action: 'resend-requested';
    }
  | {
      /** A new session was started from a fresh bundle and the peer was told. */
      readonly action: 'session-reset';
    }
  | {
      /** The peer was acted on too recently; nothing was done. */
      readonly action: 'rate-limited';
      /** What would have been done otherwise. */
      readonly suggested: SuggestedAction;
    }
  | {
      /** The peer's identity key changed; the user must confirm it. Nothing was done. */
      readonly action: 'identity-confirmation-needed';
    }
  | {
      /** The error is not a protocol matter (e.g. storage); nothing was done. */
      readonly action: 'none';
    };

/** Options of {@link SessionRecovery}. */
export interface SessionRecoveryOptions {
  /** The session manager whose sessions are reset. */
  readonly manager: SessionManager;
  /** Fetch the peer's current bundle from the key directory. */
  readonly fetchBundle: (address: ProtocolAddress) => Promise<PreKeyBundle>;
  /**
   * Tell the peer: `'session-reset'` after a new session was started (send them any message on
   * it, e.g. an empty "reset" control message, so they switch too) or `'resend-request'` to ask
   * for a message again.
   */
  readonly notifyPeer: (
    address: ProtocolAddress,
    reason: 'session-reset' | 'resend-request',
  ) => Promise<void>;
  /** Minimum time between two resets (or resend requests) for one peer; default 1 hour. */
  readonly minIntervalMs?: number;
  /** Peers remembered for rate limiting (oldest forgotten first); default 1,000. */
  readonly maxTrackedPeers?: number;
  /** Clock in milliseconds; `Date.now` by default. */
  readonly now?: () => number;
}

const DEFAULT_INTERVAL_MS = 60 * 60 * 1000;
const DEFAULT_TRACKED = 1000;

/**
 * Recovery after decryption failures: maps each error's {@link SuggestedAction} to an action,
 * rate-limited per peer. One rate limit covers both resets and resend requests.
 *
 * @example
 * ```ts
 * import { SessionRecovery } from 'chiffre';
 *
 * const recovery = new SessionRecovery({
 *   manager,
 *   fetchBundle: (address) => server.fetchBundle(address), // your key directory
 *   notifyPeer: (address, reason) => transport.sendControl(address, reason), // your transport
 * });
 * try {
 *   const plaintext = await manager.decrypt(from, message);
 * } catch (e) {
 *   const outcome = await recovery.handleDecryptError(from, e); // rethrows non-chiffre errors
 *   if (outcome.action === 'identity-confirmation-needed') askUserToConfirm(from);
 * }
 * ```
 */
export class SessionRecovery {
  readonly #o: Required<Omit<SessionRecoveryOptions, 'now'>> & { now: () => number };
  /** Last action time per peer, in insertion order (a bounded LRU). */
  readonly #last = new Map<string, number>();

  /**
   * @param options - the manager, the `fetchBundle` and `notifyPeer` callbacks, and optionally
   *   the rate limit, its memory bound and a clock
   */
  constructor(options: SessionRecoveryOptions) {
    this.#o = {
      manager: options.manager,
      fetchBundle: options.fetchBundle,
      notifyPeer: options.notifyPeer,
      minIntervalMs: options.minIntervalMs ?? DEFAULT_INTERVAL_MS,
      maxTrackedPeers: Math.max(1, options.maxTrackedPeers ?? DEFAULT_TRACKED),
      now: options.now ?? Date.now,
    };
  }

  /**
   * Act on a decryption error from `address`. Errors that are not chiffre errors are rethrown.
   * Failures of `fetchBundle`/`notifyPeer` propagate (and do not consume the rate limit).
   *
   * @param address - the peer whose message failed
   * @param error - what `decrypt` threw
   * @returns what was done
   * @throws `error` itself when it is not a chiffre error
   * @throws whatever `fetchBundle`, `notifyPeer` or
   *   {@link SessionManager.processPreKeyBundle} throw during a reset
   */
  async handleDecryptError(address: ProtocolAddress, error: unknown): Promise<RecoveryOutcome> {
    if (!isSignalError(error)) throw error;
    switch (error.suggestedAction) {
      case 'drop-duplicate':
        return { action: 'dropped-duplicate' };
      case 'confirm-identity':
        return { action: 'identity-confirmation-needed' };
      case 'request-resend': {
        if (!this.#allowed(address, 'resend')) {
          return { action: 'rate-limited', suggested: 'request-resend' };
        }
        await this.#o.notifyPeer(address, 'resend-request');
        this.#record(address, 'resend');
        return { action: 'resend-requested' };
      }
      case 'reset-session':
      case 'refetch-bundle':
        return this.resetSession(address, error.suggestedAction);
      case undefined:
        return { action: 'none' };
    }
  }

  /**
   * Start a new session with `address` from a freshly fetched bundle (the broken one is
   * archived), and tell the peer. Rate-limited per peer.
   *
   * @param address - the peer
   * @param suggested - the action reported in a `rate-limited` outcome; `'reset-session'` by
   *   default
   * @returns `session-reset`, or `rate-limited` when the peer was acted on too recently
   * @throws whatever `fetchBundle`, `notifyPeer` or
   *   {@link SessionManager.processPreKeyBundle} throw (the rate limit is not consumed)
   */
  async resetSession(
    address: ProtocolAddress,
    suggested: SuggestedAction = 'reset-session',
  ): Promise<RecoveryOutcome> {
    if (!this.#allowed(address, 'reset')) return { action: 'rate-limited', suggested };
    const bundle = await this.#o.fetchBundle(address);
    // processPreKeyBundle archives the broken session only once the new one exists: a bad bundle
    // leaves everything as it was.
    await this.#o.manager.processPreKeyBundle(address, bundle);
    await this.#o.notifyPeer(address, 'session-reset');
    this.#record(address, 'reset');
    return { action: 'session-reset' };
  }

  // Resend requests and resets are limited separately: a resend request must not delay a reset.
  #allowed(address: ProtocolAddress, kind: 'resend' | 'reset'): boolean {
    const last = this.#last.get(`${kind} ${address.toString()}`);
    return last === undefined || this.#o.now() - last >= this.#o.minIntervalMs;
  }

  #record(address: ProtocolAddress, kind: 'resend' | 'reset'): void {
    const key = `${kind} ${address.toString()}`;
    this.#last.delete(key);
    this.#last.set(key, this.#o.now());
    while (this.#last.size > this.#o.maxTrackedPeers) {
      const oldest = this.#last.keys().next().value;
      if (oldest === undefined) break;
      this.#last.delete(oldest);
    }
  }
}
