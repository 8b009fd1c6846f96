/**
 * Text-mode commands, for the server and the client alike: a line that
 * starts with `c.` is a command, named by its first word (case-insensitive:
 * `c.WHO` is `c.who`); words after the name are ignored, except by `c.msg`
 * (`c.msg <user> <text>`). Any other line,
 * one with white space before `c.` included, is a message.
 */
export type TextCommand =
  | { readonly kind: 'exit' }
  | { readonly kind: 'who' }
  | { readonly kind: 'help' }
  /** `c.msg <user> <text>`: `to` and `text` are '' when missing; the text is everything after the name, as typed. */
  | { readonly kind: 'msg'; readonly to: string; readonly text: string }
  | { readonly kind: 'unknown'; readonly name: string };

const PREFIX = 'c.';
const KNOWN: Readonly<Record<string, TextCommand>> = {
  exit: { kind: 'exit' },
  who: { kind: 'who' },
  help: { kind: 'help' },
};

/** The command a line is, or undefined for a message. An unknown command's `name` is the line's first word, as typed (unsanitised). */
export function parseTextCommand(line: string): TextCommand | undefined {
  if (!line.startsWith(PREFIX)) return undefined;
  const word = line.split(/\s/, 1)[0]!;
  const name = word.slice(PREFIX.length).toLowerCase();
  if (name === 'msg') {
    const [, to = '', text = ''] = /^\s*(\S*)\s?(.*)$/s.exec(line.slice(word.length))!;
    return { kind: 'msg', to, text };
  }
  return Object.hasOwn(KNOWN, name) ? KNOWN[name]! : { kind: 'unknown', name: word };
}
