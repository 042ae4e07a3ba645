/**
 * `chiffre/prekeys`: {@link PreKeyLifecycle}, which keeps a device's published prekeys fresh
 * (replenishes one-time prekeys, rotates the signed and last-resort Kyber prekeys, retires old
 * ones). Kept out of the main entry so that apps that manage prekeys themselves do not ship it.
 *
 * @module
 */
export { MAX_PREKEY_ID, PreKeyLifecycle } from './session/index.js';
export type {
  PreKeyEvent,
  PreKeyLifecycleOptions,
  PreKeyPolicy,
  PreKeyUpload,
} from './session/index.js';
