/**
 * SignalMessage field 6 (`addresses`, libsignal 0.91+): a 36-byte binding of sender and
 * recipient, `ServiceId(17) ‖ device(1) ‖ ServiceId(17) ‖ device(1)`, where a fixed-width
 * ServiceId is a kind byte (ACI 0x00, PNI 0x01) and the 16 raw UUID bytes. Written only when
 * both names parse as ServiceIds and both device ids fit in 1..127.
 *
 * @module
 */
import type { ProtocolAddress } from '../keys/index.js';
import { concatBytes } from '../primitives/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function serviceIdFixedWidth(name: string): Uint8Array | undefined {
  let kind = 0x00;
  let uuid = name;
  if (name.startsWith('PNI:')) {
    kind = 0x01;
    uuid = name.slice(4);
  }
  if (!UUID.test(uuid)) return undefined;
  const hex = uuid.replace(/-/g, '');
  const out = new Uint8Array(17);
  out[0] = kind;
  for (let i = 0; i < 16; i++) out[i + 1] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The field-6 bytes for a message from `sender` to `recipient`, or `undefined` when not applicable. */
export function encodeAddresses(
  sender: ProtocolAddress,
  recipient: ProtocolAddress,
): Uint8Array | undefined {
  const s = serviceIdFixedWidth(sender.name);
  const r = serviceIdFixedWidth(recipient.name);
  if (s === undefined || r === undefined) return undefined;
  if (sender.deviceId > 127 || recipient.deviceId > 127) return undefined;
  return concatBytes(s, Uint8Array.of(sender.deviceId), r, Uint8Array.of(recipient.deviceId));
}
