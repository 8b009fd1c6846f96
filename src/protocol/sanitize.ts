/*
 * Nothing a user types may drive another user's terminal. Escape sequences
 * are removed whole (so no half of one is left to be misread), then any
 * remaining control character: C0 except TAB, DEL, and C1. Bidirectional
 * override and isolate characters are removed too, so a message cannot
 * display as something it does not say; Hebrew and Arabic text needs none of
 * them. A lone UTF-16 surrogate (JSON's "\ud800") becomes U+FFFD, as invalid
 * UTF-8 does: strict readers (Python's print, serde_json) fail on it.
 */
const ESCAPE_SEQUENCES = new RegExp(
  [
    // CSI: ESC [ or the C1 CSI, parameters, intermediates, one final byte.
    '(?:\\x1b\\[|\\x9b)[0-?]*[ -/]*[@-~]?',
    // OSC, DCS, SOS, PM, APC: a string up to BEL or ST, or to the end if unterminated.
    '(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?',
    // Any other escape: ESC, intermediates, one final byte.
    '\\x1b[ -/]*[0-~]?',
  ].join('|'),
  'g',
);
const CONTROL_CHARACTERS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
/** Anything sanitizeText may change: controls, bidi overrides, any surrogate (paired ones are checked further). */
const MAYBE_UNCLEAN = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The string with every lone surrogate replaced by U+FFFD (what a UTF-8 encoder would send). */
export function toWellFormed(text: string): string {
  return /[\ud800-\udfff]/.test(text) ? text.replace(LONE_SURROGATE, '\ufffd') : text;
}

/** Chat text as it may reach other terminals. */
export function sanitizeText(text: string): string {
  // Fast path: most chat lines have nothing to remove.
  if (!MAYBE_UNCLEAN.test(text)) return text;
  return toWellFormed(text).replace(ESCAPE_SEQUENCES, '').replace(CONTROL_CHARACTERS, '');
}

/** Client text echoed back to a client (an unknown command's name): sanitised, then cut to `maxLength` with a visible mark. */
export function sanitizeShort(text: string, maxLength: number): string {
  const clean = sanitizeText(text);
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}

/** True when a sanitised line has nothing worth sending (empty or only white space). */
export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

/** Characters a log line must not carry raw: backslash (the escape itself), C0, DEL, C1, bidi controls, line separators, lone surrogates. */
const LOG_UNSAFE = /[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function logEscape(char: string): string {
  if (char === '\\') return '\\\\';
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A string from the wire (a username attempt) made safe for an operator's
 * log, the fail2ban line or the audit table: every control is shown as a
 * visible escape (`\x1b`, `\x00`, `\u202e`; a backslash as `\\`), never
 * deleted, so `al<ESC>[31mice` cannot pass for `alice`. Longer than
 * `maxLength` characters (counted before escaping) it is cut, with a
 * visible mark.
 */
export function escapeForLog(text: string, maxLength = 64): string {
  let kept = text;
  let cut = '';
  if (text.length > maxLength) {
    // Never cut a surrogate pair in half.
    const end = /[\ud800-\udbff]/.test(text[maxLength - 1] ?? '') && /[\udc00-\udfff]/.test(text[maxLength] ?? '') ? maxLength - 1 : maxLength;
    kept = text.slice(0, end);
    cut = '…';
  }
  return kept.replace(LOG_UNSAFE, logEscape) + cut;
}
