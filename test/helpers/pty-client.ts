/**
 * chat-client in a real pseudo-terminal (python3's pty module, no npm
 * package): 80x24, bytes relayed both ways, the relay exits with the
 * client's status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLIENT_MAIN, OutputCollector } from './chat-server-process.js';

const PTY_RELAY = `
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
stdin_open = True
while True:
    readable = select.select([fd] + ([0] if stdin_open else []), [], [])[0]
    if 0 in readable:
        data = os.read(0, 4096)
        if data:
            os.write(fd, data)
        else:
            stdin_open = False
    if fd in readable:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
status = os.waitpid(pid, 0)[1]
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
`;

export interface PtyClient {
  readonly child: ChildProcess;
  /** Everything the client wrote to its terminal. */
  readonly screen: OutputCollector;
  type(text: string): void;
}

/** Starts the built chat-client for 127.0.0.1:`port` in a pty, with TERM=xterm-256color and no CHAT_* or NO_COLOR of the shell. */
export function startClientInPty(port: number): PtyClient {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CHAT_') && name !== 'NO_COLOR'));
  env.TERM = 'xterm-256color';
  const child = spawn('python3', ['-c', PTY_RELAY, process.execPath, CLIENT_MAIN, `127.0.0.1:${port}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  return { child, screen: new OutputCollector(child.stdout!), type: (text) => void child.stdin!.write(text) };
}
