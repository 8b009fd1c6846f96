import type { PortHolder } from './port-holder.js';

/** Ports below this need privileges on Linux and most Unix systems. */
const FIRST_UNPRIVILEGED_PORT = 1024;

/**
 * The one line chat-server prints when it cannot listen, saying what to do;
 * undefined for an error that is not about the address.
 */
export function listenFailure(code: string | undefined, host: string, port: number, holder?: PortHolder): string | undefined {
  switch (code) {
    case 'EADDRINUSE': {
      const who = holder === undefined ? '' : ` by ${holder.command} (pid ${holder.pid})`;
      return `port ${port} is already in use on ${host}${who}: stop that process, or start with another port (--port ${port === 65535 ? 12345 : port + 1}, or --port 0 for any free one)`;
    }
    case 'EACCES':
      if (port > 0 && port < FIRST_UNPRIVILEGED_PORT) {
        return `port ${port} is below ${FIRST_UNPRIVILEGED_PORT} and needs privileges: use a port from ${FIRST_UNPRIVILEGED_PORT} up (the default is 12345), or give node the capability (sudo setcap cap_net_bind_service=+ep "$(command -v node)")`;
      }
      return `not allowed to listen on ${host}:${port}: try another --port`;
    case 'EADDRNOTAVAIL':
      return `address ${host} is not available on this machine: use --host 0.0.0.0 (every interface) or one of this machine's addresses`;
    default:
      return undefined;
  }
}
