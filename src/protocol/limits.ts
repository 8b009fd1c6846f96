/** Wire-level numbers from PROTOCOL.md; servers may be configured away from the defaults. */
export const PROTOCOL_VERSION = 1;
export const DEFAULT_PORT = 12345;
export const DEFAULT_MAX_LINE_BYTES = 4096;
export const DEFAULT_MAX_ATTEMPTS = 3;
/** The text greeting waits this long for a first line that could choose JSON mode. */
export const GREETING_DELAY_MS = 250;
