import { ProtocolError } from './errors.js';
import type { ClientMessage, ServerEvent, ServerMessage } from './messages.js';

/** Longest `say.id` echoed back in `ack`; longer ids are a bad request. */
export const MAX_MESSAGE_ID_LENGTH = 128;

/** Longest `resume.token` looked up; the server's tokens are 43 characters. */
export const MAX_RESUME_TOKEN_LENGTH = 128;

type JsonObject = Record<string, unknown>;

function parseObject(line: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolError('bad_request', 'not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('bad_request', 'a line must be one JSON object');
  }
  if (typeof (value as JsonObject).type !== 'string') {
    throw new ProtocolError('bad_request', 'the object has no "type" string');
  }
  return value as JsonObject;
}

function stringField(obj: JsonObject, field: string): string {
  const value = obj[field];
  if (typeof value !== 'string') throw new ProtocolError('bad_request', `"${obj.type as string}" needs a string "${field}"`, obj.type as string);
  return value;
}

/** The optional `id` a client gives a `say` or `dm`, echoed in its `ack`. */
function clientId(obj: JsonObject): string | undefined {
  if (obj.id === undefined) return undefined;
  if (typeof obj.id !== 'string' || obj.id.length > MAX_MESSAGE_ID_LENGTH) {
    throw new ProtocolError('bad_request', `"id" must be a string of at most ${MAX_MESSAGE_ID_LENGTH} characters`);
  }
  return obj.id;
}

/**
 * Parses one JSON-mode line from a client. Unknown fields are ignored; an
 * unknown `type` throws `unknown_type`, anything malformed `bad_request`.
 */
export function parseClientMessage(line: string): ClientMessage {
  const obj = parseObject(line);
  switch (obj.type) {
    case 'hello': {
      if (typeof obj.proto !== 'number') throw new ProtocolError('bad_request', '"hello" needs a number "proto"');
      const hello: ClientMessage = { type: 'hello', proto: obj.proto };
      if (typeof obj.client === 'string') hello.client = obj.client;
      return hello;
    }
    case 'login':
      return { type: 'login', username: stringField(obj, 'username'), password: stringField(obj, 'password') };
    case 'resume': {
      const token = stringField(obj, 'token');
      // A token is short: anything past the bound is not one of ours, and is not looked up.
      if (token.length > MAX_RESUME_TOKEN_LENGTH) throw new ProtocolError('bad_request', `"token" must be at most ${MAX_RESUME_TOKEN_LENGTH} characters`, 'resume');
      return { type: 'resume', token };
    }
    case 'say': {
      const say: ClientMessage = { type: 'say', text: stringField(obj, 'text') };
      const id = clientId(obj);
      if (id !== undefined) say.id = id;
      return say;
    }
    case 'dm': {
      if (obj.to === undefined || obj.to === '') throw new ProtocolError('bad_request', '"dm" needs a "to" username', 'dm');
      const dm: ClientMessage = { type: 'dm', to: stringField(obj, 'to'), text: stringField(obj, 'text') };
      const id = clientId(obj);
      if (id !== undefined) dm.id = id;
      return dm;
    }
    case 'who':
    case 'pong':
    case 'quit':
      return { type: obj.type };
    default:
      throw new ProtocolError('unknown_type', `unknown type ${JSON.stringify(String(obj.type).slice(0, 32))}`);
  }
}

const SERVER_TYPES = new Set(['hello', 'login_ok', 'login_failed', 'message', 'history_end', 'dm', 'ack', 'join', 'leave', 'who', 'ping', 'error', 'bye']);

/**
 * Parses one line from a server, for chat-client and tests. Lines that are not
 * JSON objects (the text greeting a JSON client may see first) give undefined;
 * so do unknown types, which a client must ignore.
 */
export function parseServerMessage(line: string): ServerMessage | undefined {
  if (!line.startsWith('{')) return undefined;
  let obj: JsonObject;
  try {
    obj = parseObject(line);
  } catch {
    return undefined;
  }
  return SERVER_TYPES.has(obj.type as string) ? (obj as unknown as ServerMessage) : undefined;
}

/** Raw U+2028/U+2029 (line breaks to some JSON readers) or a lone surrogate's escape (JSON.stringify writes `\ud800`, lowercase). */
const NEEDS_ESCAPE = /[\u2028\u2029]|\\ud[89a-f]/;
/** A `\udXXX` escape not itself preceded by an escaped backslash: in JSON.stringify's output only lone surrogates are escaped so. */
const LONE_SURROGATE_ESCAPE = /(?<=(?:^|[^\\])(?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/**
 * One JSON line, newline included, that every reader takes as one line of
 * valid UTF-8: U+2028/U+2029 escaped, a lone surrogate sent as U+FFFD.
 */
export function jsonLine(value: unknown): string {
  let json = JSON.stringify(value);
  if (NEEDS_ESCAPE.test(json)) {
    json = json.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029').replace(LONE_SURROGATE_ESCAPE, '\\ufffd');
  }
  return json + '\n';
}

/** One JSON line, newline included; text-mode-only events give undefined. */
export function encodeJsonEvent(event: ServerEvent): string | undefined {
  switch (event.type) {
    case 'greeting':
    case 'prompt':
    case 'help':
      return undefined;
    case 'history':
      return event.messages.map((message) => jsonLine({ ...message, history: true })).join('') + jsonLine({ type: 'history_end', count: event.messages.length });
    default:
      return jsonLine(event);
  }
}

export function encodeClientMessage(message: ClientMessage): string {
  return jsonLine(message);
}
