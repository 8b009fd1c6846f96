/*
 * Nothing a user types may drive another user's terminal. Escape sequences
 * are removed whole (so no half of one is left to be misread), then any
 * remaining control character: C0 except TAB, DEL, and C1. Bidirectional
 * override and isolate characters are removed too, so a message cannot
 * display as something it does not say; Hebrew and Arabic text needs none of
 * them.
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

/** Chat text as it may reach other terminals. */
export function sanitizeText(text: string): string {
  // Fast path: most chat lines have nothing to remove.
  if (!/[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(text)) return text;
  return text.replace(ESCAPE_SEQUENCES, '').replace(CONTROL_CHARACTERS, '');
}

/** True when a sanitised line has nothing worth sending (empty or only white space). */
export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

/**
 * A string from the wire (a username attempt) made safe for an operator's log
 * or the audit table: controls removed, length capped with a visible mark.
 */
export function sanitizeForLog(text: string, maxLength = 64): string {
  const clean = sanitizeText(text);
  return clean.length > maxLength ? `${clean.slice(0, maxLength)}…` : clean;
}
