/**
 * `chiffre/recovery`: {@link SessionRecovery}, which turns a decrypt error's suggested action
 * into the usual repair (archive the broken session, fetch a fresh bundle, tell the peer), rate
 * limited per peer. Kept out of the main entry so that apps with their own policy do not ship it.
 *
 * @module
 */
export { SessionRecovery } from './session/index.js';
export type { RecoveryOutcome, SessionRecoveryOptions } from './session/index.js';
