#!/usr/bin/env bash
# Install the packed tarball into a scratch project and load every subpath with require() and
# import() on this Node. Also checks that SignalError is one class across `chiffre` and
# `chiffre/errors` in each format.
set -euo pipefail
tarball="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
npm init -y >/dev/null
npm install --no-audit --no-fund "$tarball" >/dev/null
cp "$here/smoke.cjs" "$here/smoke.mjs" "$here/session-smoke.mjs" "$here/session-smoke-cli.mjs" .
node smoke.cjs
node smoke.mjs
echo "smoke: require() and import() of every subpath OK on node $(node --version)"

# A full session on the tarball in each runtime the README lists (Bun and Deno come from their
# npm packages, installed by `npm ci` as devDependencies of the repository).
bin="$(cd "$here/../.." && pwd)/node_modules/.bin"
node session-smoke-cli.mjs
"$bin/bun" session-smoke-cli.mjs
"$bin/deno" run --allow-read --allow-env session-smoke-cli.mjs
(cd "$here/../.." && node --import tsx test/package/browser-smoke.ts "$scratch")
