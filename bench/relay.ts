/**
 * The reference for the saturation bench: a bare node:net relay with no
 * protocol, no login and no limits. Every complete line a socket sends goes
 * to every other socket, and the sender gets a fixed `{"type":"ack"}` line
 * per line so the load generator can keep the same window of un-acked lines
 * as with the chat server. Writes are coalesced: the lines of one event-loop
 * turn are joined into one shared buffer, and each socket gets one write per
 * turn (the shared buffer itself, or, for a socket that sent lines this turn,
 * the parts of it that are not its own, plus its acks).
 *
 *   node dist/bench/relay.js [--port N]   prints "relay listening on 127.0.0.1:PORT"
 *
 * It exits when its stdin closes, so it never outlives the bench.
 */
import { createServer, type Socket } from 'node:net';

const ACK = Buffer.from('{"type":"ack"}\n');

interface Peer {
  socket: Socket;
  /** The unfinished last line. */
  tail: Buffer | undefined;
  /** Indexes, in this turn's segment list, of the lines this peer sent. */
  own: number[];
}

const peers = new Set<Peer>();
let segments: Buffer[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (segments.length === 0) return;
  const parts = segments;
  segments = [];
  const shared = Buffer.concat(parts);
  const offsets: number[] = new Array<number>(parts.length + 1);
  offsets[0] = 0;
  for (let i = 0; i < parts.length; i += 1) offsets[i + 1] = offsets[i]! + parts[i]!.length;
  for (const peer of peers) {
    if (peer.socket.destroyed) {
      peer.own = [];
      continue;
    }
    if (peer.own.length === 0) {
      peer.socket.write(shared);
      continue;
    }
    const pieces: Buffer[] = [];
    let start = 0;
    let acks = 0;
    for (const index of peer.own) {
      if (offsets[index]! > start) pieces.push(shared.subarray(start, offsets[index]));
      start = offsets[index + 1]!;
      acks += 1;
    }
    if (start < shared.length) pieces.push(shared.subarray(start));
    for (let i = 0; i < acks; i += 1) pieces.push(ACK);
    peer.own = [];
    peer.socket.write(Buffer.concat(pieces));
  }
}

function onData(peer: Peer, chunk: Buffer): void {
  const last = chunk.lastIndexOf(0x0a);
  if (last === -1) {
    peer.tail = peer.tail === undefined ? chunk : Buffer.concat([peer.tail, chunk]);
    return;
  }
  const whole = chunk.subarray(0, last + 1);
  // A chunk holds many lines: keep it as one segment per line so a peer's own lines can be skipped.
  let start = 0;
  let data = whole;
  if (peer.tail !== undefined) {
    data = Buffer.concat([peer.tail, whole]);
    peer.tail = undefined;
  }
  for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
    peer.own.push(segments.length);
    segments.push(data.subarray(start, nl + 1));
    start = nl + 1;
  }
  if (last + 1 < chunk.length) peer.tail = chunk.subarray(last + 1);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

const portArg = process.argv.indexOf('--port');
const port = portArg === -1 ? 0 : Number(process.argv[portArg + 1]);

const server = createServer({ noDelay: true }, (socket) => {
  const peer: Peer = { socket, tail: undefined, own: [] };
  peers.add(peer);
  socket.on('data', (chunk: Buffer) => onData(peer, chunk));
  socket.on('error', () => undefined);
  socket.on('close', () => peers.delete(peer));
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') process.stdout.write(`relay listening on 127.0.0.1:${address.port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
