// Entry point for Node, Bun and Deno: `<runtime> session-smoke-cli.mjs <name>`.
import { runSessionSmoke } from './session-smoke.mjs';

const name = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
runSessionSmoke(
  `${name} ${globalThis.Deno?.version?.deno ?? globalThis.Bun?.version ?? globalThis.process?.version}`,
)
  .then((line) => console.log(line))
  .catch((e) => {
    console.error(e);
    if (globalThis.Deno) globalThis.Deno.exit(1);
    else globalThis.process.exit(1);
  });
