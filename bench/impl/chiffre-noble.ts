/**
 * chiffre forced onto pure JavaScript crypto (`crypto: 'noble'`), as on a platform without
 * native X25519 (e.g. React Native): the "pure noble" column of the targets.
 *
 * @module
 */
import type { Implementation } from '../types.js';
import { createChiffre } from './chiffre.js';

const implementation: Implementation = createChiffre({ spqr: true, noble: true });
export default implementation;
