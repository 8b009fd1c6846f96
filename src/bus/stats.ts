import type { BusStats } from './bus.js';
import type { Inbound } from './inbound.js';
import type { Outbound } from './outbound.js';

/** A bus's counters, from its two sides. */
export function busStats(outbound: Outbound, inbound: Inbound, connected: boolean): BusStats {
  const { published, dropped, size, bytes } = outbound;
  const { delivered, lost, duplicates, malformed } = inbound;
  return { published, dropped, delivered, lost, duplicates, malformed, buffered: size, bufferedBytes: bytes, connected };
}
