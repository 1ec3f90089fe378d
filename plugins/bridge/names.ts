// Random names and addresses for the links the plugin creates.

import { bytesToMac, hexOctets } from "../../native/netlink/link";

/** A name collision is retried with a new random name this many times, as the reference does. */
export const NAME_ATTEMPTS = 10;

/** `veth` and 8 hex digits from 4 random bytes, as the reference names host ends. */
export function randomVethName(): string {
  return `veth${hexOctets(crypto.getRandomValues(new Uint8Array(4)), "")}`;
}

/**
 * A random unicast, locally administered MAC. Giving one at creation marks the address as set by
 * the administrator, so neither the bridge's port logic nor udev's MACAddressPolicy changes it later.
 */
export function randomMac(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return bytesToMac(bytes);
}
