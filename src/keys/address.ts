/**
 * A protocol address: a peer's name (account identifier) and device id.
 *
 * @module
 */
import { type DeviceId, deviceId as toDeviceId } from './ids.js';

/** Identifies one device of one peer: `(name, deviceId)`. Renders as `name.deviceId`. */
export class ProtocolAddress {
  /** The account name (for Signal, a ServiceId string). */
  readonly name: string;
  /** The device id. */
  readonly deviceId: DeviceId;

  /**
   * @param name - non-empty account identifier
   * @param deviceId - 1 to 2^31−1
   * @throws {TypeError} for an empty or non-string name
   * @throws {RangeError} for a device id out of range
   */
  constructor(name: string, deviceId: number) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError('name must be a non-empty string');
    }
    this.name = name;
    this.deviceId = toDeviceId(deviceId);
  }

  /** `name.deviceId`, the key stores use. */
  toString(): string {
    return `${this.name}.${String(this.deviceId)}`;
  }

  /** Equality by name and device id. */
  equals(other: ProtocolAddress): boolean {
    return this.name === other.name && this.deviceId === other.deviceId;
  }

  /**
   * The JSON rendering.
   *
   * @returns the name and device id
   */
  toJSON(): {
    /** The account name. */
    name: string;
    /** The device id. */
    deviceId: number;
  } {
    return { name: this.name, deviceId: this.deviceId };
  }
}
