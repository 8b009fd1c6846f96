import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A process listening on a TCP port, as far as this machine tells an unprivileged user. */
export interface PortHolder {
  readonly pid: number;
  /** The process's command name (`/proc/PID/comm`), such as `node` or `nginx`. */
  readonly command: string;
}

const LISTEN = '0A';

/**
 * The socket inodes listening on `port` in the text of /proc/net/tcp or
 * /proc/net/tcp6 (one socket per line: `sl local_address rem_address st ...
 * inode`; the address ends in `:PPPP`, the port in hex).
 */
export function listeningInodes(procNetTcp: string, port: number): string[] {
  const inodes: string[] = [];
  for (const line of procNetTcp.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== LISTEN) continue;
    const localPort = Number.parseInt(fields[1]!.split(':').at(-1)!, 16);
    if (localPort === port && fields[9] !== '0') inodes.push(fields[9]!);
  }
  return inodes;
}

/**
 * Best effort, Linux only: which process listens on `port`, found by its
 * socket's inode among the open files in /proc/PID/fd. Undefined when it
 * cannot be known (another OS, another user's process, a container).
 */
export function findPortHolder(port: number, proc = '/proc'): PortHolder | undefined {
  try {
    const inodes = new Set<string>();
    for (const table of ['net/tcp', 'net/tcp6']) {
      try {
        for (const inode of listeningInodes(readFileSync(`${proc}/${table}`, 'utf8'), port)) inodes.add(`socket:[${inode}]`);
      } catch {
        // No IPv6 table, or no /proc at all: look at what there is.
      }
    }
    if (inodes.size === 0) return undefined;
    for (const entry of readdirSync(proc)) {
      if (!/^\d+$/.test(entry)) continue;
      let fds: string[];
      try {
        fds = readdirSync(`${proc}/${entry}/fd`);
      } catch {
        continue; // another user's process, or gone meanwhile
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = readlinkSync(`${proc}/${entry}/fd/${fd}`);
        } catch {
          continue;
        }
        if (inodes.has(target)) return { pid: Number(entry), command: commandOf(proc, entry) };
      }
    }
  } catch {
    // Nothing to read here: the caller says what it can without it.
  }
  return undefined;
}

function commandOf(proc: string, pid: string): string {
  try {
    return readFileSync(`${proc}/${pid}/comm`, 'utf8').trim() || '?';
  } catch {
    return '?';
  }
}
