/**
 * The implementations under test, loaded on demand so that a worker process only ever loads the
 * one it measures.
 *
 * @module
 */
import type { Implementation } from '../types.js';

/** The reference every ratio is computed against. */
export const REFERENCE_ID = 'libsignal-client-0103';

/** Ids in table order. */
export const IMPLEMENTATION_IDS = [
  'chiffre',
  'chiffre-noble',
  'chiffre-nospqr',
  'libsignal-client-0103',
  'libsignal-client-090',
  'libsignal-node',
  'privacyresearch',
  '2key-ratchet',
] as const;

export type ImplementationId = (typeof IMPLEMENTATION_IDS)[number];

const loaders: Record<ImplementationId, () => Promise<{ default: Implementation }>> = {
  chiffre: () => import('./chiffre.js'),
  'chiffre-noble': () => import('./chiffre-noble.js'),
  'chiffre-nospqr': () => import('./chiffre-nospqr.js'),
  'libsignal-client-0103': () => import('./libsignal-client-0103.js'),
  'libsignal-client-090': () => import('./libsignal-client-090.js'),
  'libsignal-node': () => import('./libsignal-node.js'),
  privacyresearch: () => import('./privacyresearch.js'),
  '2key-ratchet': () => import('./2key-ratchet.js'),
};

export function isImplementationId(id: string): id is ImplementationId {
  return (IMPLEMENTATION_IDS as readonly string[]).includes(id);
}

/** Load one implementation. */
export async function loadImplementation(id: ImplementationId): Promise<Implementation> {
  return (await loaders[id]()).default;
}
