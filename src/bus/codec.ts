import type { BusMessage, BusRoomEvent } from './bus.js';

/** The body of a bus entry: the message as JSON. */
export function encodeBusMessage(message: BusMessage): string {
  return JSON.stringify(message);
}

type Fields = Record<string, unknown>;

const isString = (value: unknown): value is string => typeof value === 'string';
const optionalString = (value: unknown): boolean => value === undefined || isString(value);
const LEAVE_REASONS = new Set(['quit', 'disconnected', 'timeout', 'kicked', 'removed', 'disabled']);
const END_KINDS = new Set(['kicked', 'removed', 'disabled']);

function isRoomEvent(event: unknown): event is BusRoomEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Fields;
  switch (e.type) {
    case 'message':
      return isString(e.id) && isString(e.from) && isString(e.text) && isString(e.ts);
    case 'join':
      return isString(e.user);
    case 'leave':
      return isString(e.user) && isString(e.reason) && LEAVE_REASONS.has(e.reason);
    default:
      return false;
  }
}

/**
 * Reads an entry's body back, or undefined when it is not a bus message this
 * version knows (another version's entry, or garbage): the reader skips it
 * and counts it instead of passing on something the server cannot handle.
 */
export function decodeBusMessage(body: string): BusMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Fields;
  switch (m.type) {
    case 'room':
      return isRoomEvent(m.event) ? (value as BusMessage) : undefined;
    case 'dm':
      return isString(m.to) && isString(m.id) && isString(m.from) && isString(m.text) && isString(m.ts) ? (value as BusMessage) : undefined;
    case 'dm_receipt':
      return isString(m.id) && isString(m.to) && typeof m.delivered === 'boolean' ? (value as BusMessage) : undefined;
    case 'end_session':
      return isString(m.username) && isString(m.kind) && END_KINDS.has(m.kind) && optionalString(m.sessionId) && optionalString(m.note)
        ? (value as BusMessage)
        : undefined;
    case 'presence_request':
      return value as BusMessage;
    case 'presence':
      return Array.isArray(m.users) && m.users.every(isString) ? (value as BusMessage) : undefined;
    default:
      return undefined;
  }
}
