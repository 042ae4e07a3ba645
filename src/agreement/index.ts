/**
 * The agreement layer: PQXDH as pure functions.
 *
 * @module
 */
export { agreeAsInitiator, agreeAsResponder } from './pqxdh.js';
export type {
  InitiatorAgreement,
  InitiatorAgreementParams,
  PqxdhSecrets,
  ResponderAgreementParams,
} from './pqxdh.js';
