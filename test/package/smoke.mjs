// ESM consumer of the packed tarball.
import assert from 'node:assert/strict';
import * as main from 'chiffre';
import * as errors from 'chiffre/errors';
import * as hazmat from 'chiffre/hazmat';
import * as storage from 'chiffre/storage';
import { MAX_PREKEY_ID, PreKeyLifecycle } from 'chiffre/prekeys';
import { SessionRecovery } from 'chiffre/recovery';
import { Fingerprint, FINGERPRINT_ITERATIONS } from 'chiffre/fingerprint';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
assert.equal(main.SignalError, errors.SignalError, 'one SignalError class under import()');
assert.equal(typeof hazmat.kemEncapsulate, 'function');
assert.equal(typeof storage, 'object');
// An error thrown by the CJS build is recognised by the ESM guard.
const cjsErrors = require('chiffre/errors');
const e = new cjsErrors.InvalidKeyError('x');
assert.ok(errors.isSignalError(e, 'ERR_INVALID_KEY'), 'isSignalError works across builds');
const id = main.IdentityKeyPair.generate();
assert.equal(id.serialize().length, 69);
assert.ok(!JSON.stringify(id).includes('"privateKey":"0'));
assert.equal(typeof PreKeyLifecycle, 'function');
assert.equal(MAX_PREKEY_ID, main.MAX_PREKEY_ID);
assert.equal(typeof SessionRecovery, 'function');
assert.equal(FINGERPRINT_ITERATIONS, 5200);
const other = main.IdentityKeyPair.generate();
const a = Fingerprint.create(
  5200,
  2,
  Uint8Array.of(1),
  id.publicKey,
  Uint8Array.of(2),
  other.publicKey,
);
const b = Fingerprint.create(
  5200,
  2,
  Uint8Array.of(2),
  other.publicKey,
  Uint8Array.of(1),
  id.publicKey,
);
assert.equal(a.displayable, b.displayable);
assert.equal('Fingerprint' in main, false, 'Fingerprint lives in chiffre/fingerprint only');
console.log('esm ok');
