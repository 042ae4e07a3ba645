/**
 * Shared redaction for secret-holding objects: what `JSON.stringify`, `String()` and
 * `util.inspect` show instead of the secret.
 *
 * @module
 */

/** The symbol Node's `util.inspect` looks up (reachable without importing `node:util`). */
export const INSPECT: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;

/** The placeholder that replaces secret bytes in every rendering. */
export const REDACTED = '<redacted>';

/**
 * Give a class an `util.inspect` rendering equal to its `toString()`. Installed on the prototype
 * (rather than declared as a computed method) so declarations stay isolated.
 *
 * @internal
 */
export function installInspect(cls: { prototype: { toString(): string } }): void {
  Object.defineProperty(cls.prototype, INSPECT, {
    value(this: { toString(): string }): string {
      return this.toString();
    },
    enumerable: false,
  });
}
