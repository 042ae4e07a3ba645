/**
 * chiffre with SPQR negotiated off (see `createChiffre` in `./chiffre.ts`): the baseline for
 * SPQR's own per-message cost.
 *
 * @module
 */
import type { Implementation } from '../types.js';
import { createChiffre } from './chiffre.js';

const implementation: Implementation = createChiffre({ spqr: false });
export default implementation;
