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
  | { readonly action: 'dropped-duplicate' }
  | { readonly action: 'resend-requested' }
  | { readonly action: 'session-reset' }
  | { readonly action: 'rate-limited'; readonly suggested: SuggestedAction }
  | { readonly action: 'identity-confirmation-needed' }
  | { readonly action: 'none' };

/** Options of {@link SessionRecovery}. */
export interface SessionRecoveryOptions {
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
 * Recovery after decryption failures.
 *
 * @example
 * ```ts
 * const recovery = new SessionRecovery({ manager, fetchBundle, notifyPeer });
 * try {
 *   plaintext = await manager.decrypt(from, message);
 * } catch (e) {
 *   const outcome = await recovery.handleDecryptError(from, e);
 * }
 * ```
 */
export class SessionRecovery {
  readonly #o: Required<Omit<SessionRecoveryOptions, 'now'>> & { now: () => number };
  /** Last action time per peer, in insertion order (a bounded LRU). */
  readonly #last = new Map<string, number>();

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
   */
  async handleDecryptError(address: ProtocolAddress, error: unknown): Promise<RecoveryOutcome> {
    if (!isSignalError(error)) throw error;
    switch (error.suggestedAction) {
      case 'drop-duplicate':
        return { action: 'dropped-duplicate' };
      case 'confirm-identity':
        return { action: 'identity-confirmation-needed' };
      case 'request-resend': {
        if (!this.#allowed(address)) return { action: 'rate-limited', suggested: 'request-resend' };
        await this.#o.notifyPeer(address, 'resend-request');
        this.#record(address);
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
   */
  async resetSession(
    address: ProtocolAddress,
    suggested: SuggestedAction = 'reset-session',
  ): Promise<RecoveryOutcome> {
    if (!this.#allowed(address)) return { action: 'rate-limited', suggested };
    const bundle = await this.#o.fetchBundle(address);
    // processPreKeyBundle archives the broken session only once the new one exists: a bad bundle
    // leaves everything as it was.
    await this.#o.manager.processPreKeyBundle(address, bundle);
    await this.#o.notifyPeer(address, 'session-reset');
    this.#record(address);
    return { action: 'session-reset' };
  }

  #allowed(address: ProtocolAddress): boolean {
    const last = this.#last.get(address.toString());
    return last === undefined || this.#o.now() - last >= this.#o.minIntervalMs;
  }

  #record(address: ProtocolAddress): void {
    const key = address.toString();
    this.#last.delete(key);
    this.#last.set(key, this.#o.now());
    while (this.#last.size > this.#o.maxTrackedPeers) {
      const oldest = this.#last.keys().next().value;
      if (oldest === undefined) break;
      this.#last.delete(oldest);
    }
  }
}
