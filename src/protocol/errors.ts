/** `error.code` values on the wire (PROTOCOL.md, JSON mode `error`). */
export const WIRE_ERROR_CODES = ['line_too_long', 'bad_request', 'rate_limited', 'not_logged_in', 'unknown_type'] as const;
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/** A malformed frame or message; `code` is what the peer is told. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: WireErrorCode,
    message: string,
    /** The `type` of the message that was malformed, when it had a known one. */
    readonly messageType?: string,
  ) {
    super(message);
  }
}
