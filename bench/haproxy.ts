/**
 * What the cluster bench and test/helpers/haproxy.ts share to run a real
 * HAProxy on loopback: its configuration and the readiness probe.
 */
import net from 'node:net';

/**
 * The configuration docs/cluster.md "Behind HAProxy" shows, with loopback
 * ports: TCP mode, round robin, `send-proxy-v2` to every instance and health
 * checks that send a PROXY header too.
 */
export function haproxyConfig(listenPort: number, backends: readonly number[]): string {
  return [
    'global',
    '  maxconn 8192',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  option redispatch',
    '  retries 3',
    'frontend chat',
    `  bind 127.0.0.1:${listenPort}`,
    '  default_backend chat_instances',
    'backend chat_instances',
    '  balance roundrobin',
    ...backends.map((port, i) => `  server chat${i + 1} 127.0.0.1:${port} send-proxy-v2 check check-send-proxy inter 500ms fall 2 rise 2`),
    '',
  ].join('\n');
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port` now (the connection is closed at once). */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
