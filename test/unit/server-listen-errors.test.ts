import { describe, expect, it } from 'vitest';
import { listenFailure } from '../../src/server/listen-errors.js';
import { listeningInodes } from '../../src/server/port-holder.js';

const PROC_NET_TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 00000000:3039 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0',
  '   1: 0100007F:3039 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 5151 1 0000000000000000 20 4 30 10 -1',
  '   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6161 1 0000000000000000 100 0 0 10 0',
].join('\n');

describe('listeningInodes', () => {
  it('finds the listening socket of a port (hex in /proc/net/tcp), not its connections', () => {
    expect(listeningInodes(PROC_NET_TCP, 12345)).toEqual(['4242']);
    expect(listeningInodes(PROC_NET_TCP, 80)).toEqual(['6161']);
    expect(listeningInodes(PROC_NET_TCP, 81)).toEqual([]);
  });
});

describe('listenFailure says what to do', () => {
  it('port in use: which process when known, and another --port', () => {
    expect(listenFailure('EADDRINUSE', '0.0.0.0', 12345, { pid: 77, command: 'node' })).toBe(
      'port 12345 is already in use on 0.0.0.0 by node (pid 77): stop that process, or start with another port (--port 12346, or --port 0 for any free one)',
    );
    expect(listenFailure('EADDRINUSE', '0.0.0.0', 12345)).toMatch(/^port 12345 is already in use on 0\.0\.0\.0: stop that process, or start with another port/);
  });

  it('a privileged port: a port from 1024 up, or the capability', () => {
    expect(listenFailure('EACCES', '0.0.0.0', 80)).toMatch(/^port 80 is below 1024 and needs privileges: use a port from 1024 up .*cap_net_bind_service/);
  });

  it('an address the machine does not have', () => {
    expect(listenFailure('EADDRNOTAVAIL', '10.9.9.9', 12345)).toMatch(/address 10\.9\.9\.9 is not available on this machine: use --host 0\.0\.0\.0/);
    expect(listenFailure('EMFILE', '0.0.0.0', 1)).toBeUndefined();
  });
});
