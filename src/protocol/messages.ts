/**
 * Every message of PROTOCOL.md as a discriminated union on `type`. The server,
 * chat-client and test fakes all use these; this module imports nothing.
 */

// ---- client to server (JSON mode) ----

export interface HelloRequest {
  type: 'hello';
  proto: number;
  client?: string;
}
export interface LoginRequest {
  type: 'login';
  username: string;
  password: string;
}
/** Addition (PROTOCOL.md "Session resumption"): instead of `login`, the token of an earlier `login_ok`. */
export interface ResumeRequest {
  type: 'resume';
  token: string;
}
export interface SayRequest {
  type: 'say';
  text: string;
  id?: string;
}
export interface WhoRequest {
  type: 'who';
}
export interface PongRequest {
  type: 'pong';
}
export interface QuitRequest {
  type: 'quit';
}
/** A direct message to one user (PROTOCOL.md "Direct messages"). */
export interface DmRequest {
  type: 'dm';
  to: string;
  text: string;
  id?: string;
}
export type ClientMessage = HelloRequest | LoginRequest | ResumeRequest | SayRequest | WhoRequest | PongRequest | QuitRequest | DmRequest;
// ---- server to client ----

/**
 * `server_busy` is an extension: the login queue was full; it costs no attempt.
 * `resume_invalid` (PROTOCOL.md additions): the token of a `resume` is not (or no longer) good; it costs no attempt.
 */
export type LoginFailReason = 'invalid_credentials' | 'already_logged_in' | 'disabled' | 'bad_request' | 'server_busy' | 'resume_invalid';

/** `disabled` is an extension (an admin disabled the account). */
export type LeaveReason = 'quit' | 'disconnected' | 'timeout' | 'kicked' | 'removed' | 'disabled';

/** `disabled`, `flooding`, `too_much_input` and `replaced` are extensions, documented in docs/protocol.md. */
export type ByeReason =
  | 'quit'
  | 'too_many_attempts'
  | 'login_timeout'
  | 'timeout'
  | 'kicked'
  | 'removed'
  | 'disabled'
  | 'shutdown'
  | 'slow_consumer'
  | 'flooding'
  | 'too_much_input'
  | 'replaced';

export type ErrorCode = 'line_too_long' | 'bad_request' | 'rate_limited' | 'not_logged_in' | 'unknown_type' | 'not_online';

export interface HelloReply {
  type: 'hello';
  proto: number;
  server: string;
  max_attempts: number;
  max_line: number;
}
export interface LoginOk {
  type: 'login_ok';
  username: string;
  /** Others online, not including the one who logged in. */
  users: string[];
  help: string;
  /** Addition: the token a later `resume` may use once; absent when the server has resumption off (and in text mode). */
  resume?: string;
}
export interface LoginFailed {
  type: 'login_failed';
  reason: LoginFailReason;
  attempts_left: number;
  /** Extension: the client's address is locked for this many more seconds (the reason stays `invalid_credentials`). */
  retry_after?: number;
  /** Extension: a human explanation, sent with `retry_after`. */
  message?: string;
}
export interface ChatMessage {
  type: 'message';
  from: string;
  text: string;
  ts: string;
  /** The server's message id: unique across instances, ordered by time as a string, the same live and in history. */
  id: string;
  /** Set on messages replayed from history after login. */
  history?: true;
}
/** After the replayed messages of a login (sent also when there were none). */
export interface HistoryEnd {
  type: 'history_end';
  count: number;
}
/** A direct message to this user. */
export interface DirectMessage {
  type: 'dm';
  from: string;
  text: string;
  ts: string;
  id: string;
}
export interface Ack {
  type: 'ack';
  id: string;
}
export interface Join {
  type: 'join';
  user: string;
}
export interface Leave {
  type: 'leave';
  user: string;
  reason: LeaveReason;
}
export interface WhoReply {
  type: 'who';
  users: string[];
}
export interface Ping {
  type: 'ping';
}
export interface ErrorReply {
  type: 'error';
  code: ErrorCode;
  message: string;
}
export interface Bye {
  type: 'bye';
  reason: ByeReason;
  /** Extension: human detail, such as the reason an admin gave for a kick. */
  message?: string;
}
export type ServerMessage = HelloReply | LoginOk | LoginFailed | ChatMessage | HistoryEnd | DirectMessage | Ack | Join | Leave | WhoReply | Ping | ErrorReply | Bye;
// ---- text-mode-only events (JSON mode has no equivalent line) ----

export interface GreetingEvent {
  type: 'greeting';
  max_attempts: number;
}
export interface PromptEvent {
  type: 'prompt';
  field: 'username' | 'password';
}
export interface HelpEvent {
  type: 'help';
}
/**
 * The replay after a login, as one event so that nothing can come between
 * its lines: JSON mode sends each message with `history: true`, then
 * `history_end`; text mode a block (only when there is at least one).
 * `now` (ms) decides which times are today's.
 */
export interface HistoryReplayEvent {
  type: 'history';
  messages: readonly ChatMessage[];
  now: number;
}

/** What a session tells its client; each mode's codec renders it (or nothing). */
export type ServerEvent = ServerMessage | GreetingEvent | PromptEvent | HelpEvent | HistoryReplayEvent;

export const HELP_LINES: readonly string[] = [
  'Type a message and press Enter to send it to everyone else.',
  'Commands: c.who (who is online), c.msg <user> <text> (a private message), c.help (this help), c.exit (leave).',
];
export const HELP_TEXT = HELP_LINES.join('\n');
