// CommonJS consumer of the packed tarball.
const assert = require('node:assert/strict');
const main = require('chiffre');
const errors = require('chiffre/errors');
const hazmat = require('chiffre/hazmat');
const storage = require('chiffre/storage');
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
console.log('cjs ok');
