// CommonJS consumer of the packed tarball.
const assert = require('node:assert/strict');
const main = require('chiffre');
const errors = require('chiffre/errors');
const hazmat = require('chiffre/hazmat');
const storage = require('chiffre/storage');
const prekeys = require('chiffre/prekeys');
const recovery = require('chiffre/recovery');
const fingerprint = require('chiffre/fingerprint');
const pkg = require('chiffre/package.json');
assert.equal(pkg.name, 'chiffre');
assert.equal(main.SignalError, errors.SignalError, 'one SignalError class under require()');
assert.equal(typeof hazmat.xeddsaSign, 'function');
assert.equal(typeof storage, 'object');
const id = main.IdentityKeyPair.generate();
const sig = id.privateKey.sign(Uint8Array.of(1, 2, 3));
assert.ok(id.publicKey.verifySignature(Uint8Array.of(1, 2, 3), sig));
for (const [name, value] of Object.entries(storage)) assert.ok(value !== undefined, name);
if (typeof main.SessionManager === 'function') {
  assert.equal(typeof storage.InMemoryProtocolStore, 'function');
}
assert.equal(typeof prekeys.PreKeyLifecycle, 'function');
assert.equal(prekeys.MAX_PREKEY_ID, main.MAX_PREKEY_ID);
assert.equal(typeof recovery.SessionRecovery, 'function');
const other = main.IdentityKeyPair.generate();
const mine = fingerprint.Fingerprint.create(
  5200,
  2,
  Uint8Array.of(1),
  id.publicKey,
  Uint8Array.of(2),
  other.publicKey,
);
const theirs = fingerprint.Fingerprint.create(
  5200,
  2,
  Uint8Array.of(2),
  other.publicKey,
  Uint8Array.of(1),
  id.publicKey,
);
assert.equal(mine.displayable, theirs.displayable);
assert.equal(main.PreKeyLifecycle, undefined, 'PreKeyLifecycle lives in chiffre/prekeys only');
console.log('cjs ok');
