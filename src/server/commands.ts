import type { ClientMessage } from '../protocol/messages.js';
import type { TextCommand } from '../protocol/text-commands.js';

/** What a client asks for, whichever mode it speaks: text lines are parsed into the same requests as JSON. */
export type Request = ClientMessage | { type: 'help' };
export type RequestType = Request['type'];

const REQUESTS: Readonly<Record<Exclude<TextCommand['kind'], 'unknown' | 'msg'>, Request>> = {
  exit: { type: 'quit' },
  who: { type: 'who' },
  help: { type: 'help' },
};

/** The request a known text command stands for. */
export function commandRequest(command: Exclude<TextCommand, { kind: 'unknown' }>): Request {
  if (command.kind === 'msg') return { type: 'dm', to: command.to, text: command.text };
  return REQUESTS[command.kind];
}
