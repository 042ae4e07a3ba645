// ESM consumer of the packed tarball.
import assert from 'node:assert/strict';
import * as main from 'chiffre';
import * as errors from 'chiffre/errors';
import * as hazmat from 'chiffre/hazmat';
import * as storage from 'chiffre/storage';
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
console.log('esm ok');
