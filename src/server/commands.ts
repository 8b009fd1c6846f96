import type { ClientMessage } from '../protocol/messages.js';

/** What a client asks for, whichever mode it speaks: text lines are parsed into the same requests as JSON. */
export type Request = ClientMessage | { type: 'help' };
export type RequestType = Request['type'];

export type TextCommand = { kind: 'request'; request: Request } | { kind: 'unknown'; name: string };

/** Text-mode lines that start with `c.` are commands: `c.exit`, `c.who`, `c.help` (names case-insensitive). */
export function parseTextCommand(line: string): TextCommand | undefined {
  if (!line.startsWith('c.')) return undefined;
  const name = line.slice(2).split(/\s/, 1)[0]!.toLowerCase();
  switch (name) {
    case 'exit':
      return { kind: 'request', request: { type: 'quit' } };
    case 'who':
      return { kind: 'request', request: { type: 'who' } };
    case 'help':
      return { kind: 'request', request: { type: 'help' } };
    default:
      return { kind: 'unknown', name: line.split(/\s/, 1)[0]! };
  }
}
