/**
 * Branded numeric ids (prekey ids, registration ids, device ids). Brands keep a signed prekey id
 * from being passed where a Kyber prekey id is expected; the constructors check the range.
 *
 * @module
 */

declare const brand: unique symbol;
/** A number tagged with a compile-time brand. */
export type Branded<T, B extends string> = T & { readonly [brand]: B };

/** Id of a one-time (EC) prekey. u32. */
export type PreKeyId = Branded<number, 'PreKeyId'>;
/** Id of a signed prekey. u32. */
export type SignedPreKeyId = Branded<number, 'SignedPreKeyId'>;
/** Id of a Kyber prekey. u32. */
export type KyberPreKeyId = Branded<number, 'KyberPreKeyId'>;
/** A device's registration id. u32 (Signal uses 14 bits). */
export type RegistrationId = Branded<number, 'RegistrationId'>;
/** A device id within an account. */
export type DeviceId = Branded<number, 'DeviceId'>;

function u32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`${what} must be an integer between 0 and 2^32-1`);
  }
  return value;
}

/** Brand a one-time prekey id. @throws {RangeError} outside u32 */
export function preKeyId(value: number): PreKeyId {
  return u32(value, 'preKeyId') as PreKeyId;
}
/** Brand a signed prekey id. @throws {RangeError} outside u32 */
export function signedPreKeyId(value: number): SignedPreKeyId {
  return u32(value, 'signedPreKeyId') as SignedPreKeyId;
}
/** Brand a Kyber prekey id. @throws {RangeError} outside u32 */
export function kyberPreKeyId(value: number): KyberPreKeyId {
  return u32(value, 'kyberPreKeyId') as KyberPreKeyId;
}
/** Brand a registration id. @throws {RangeError} outside u32 */
export function registrationId(value: number): RegistrationId {
  return u32(value, 'registrationId') as RegistrationId;
}
/** Brand a device id (1 to 2^31−1). @throws {RangeError} outside that range */
export function deviceId(value: number): DeviceId {
  if (!Number.isInteger(value) || value < 1 || value > 0x7fff_ffff) {
    throw new RangeError('deviceId must be an integer between 1 and 2^31-1');
  }
  return value as DeviceId;
}
