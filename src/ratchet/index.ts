/**
 * The ratchet layer: Double Ratchet KDFs, state and steps over plain data.
 *
 * @module
 */
export {
  initializeInitiatorState,
  initializeResponderState,
  ratchetReceiveStep,
  ratchetSendStep,
} from './double-ratchet.js';
export type {
  InitiatorStateParams,
  ReceiveOptions,
  ReceiveStep,
  ResponderStateParams,
  SendStep,
} from './double-ratchet.js';
export {
  deriveChainStep,
  deriveMessageKeys,
  deriveMessageSeed,
  deriveNextChainKey,
  deriveRootStep,
} from './kdf.js';
export type { MessageKeys, RootStep } from './kdf.js';
export type { ChainKey, PendingPreKey, ReceiverChain, SenderChain, SessionState } from './state.js';
