export type BusErrorCode = 'bus_unreachable' | 'bus_closed';

/** The bus cannot be used. Its own file: a server without --bus must be able to recognise one without loading ioredis. */
export class BusError extends Error {
  constructor(
    readonly code: BusErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BusError';
  }
}
