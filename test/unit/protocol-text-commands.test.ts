import { describe, expect, it } from 'vitest';
import { parseTextCommand, type TextCommand } from '../../src/protocol/text-commands.js';
import { commandRequest } from '../../src/server/commands.js';

describe('parseTextCommand (server and client)', () => {
  it.each<[string, TextCommand]>([
    ['c.exit', { kind: 'exit' }],
    ['c.who', { kind: 'who' }],
    ['c.help', { kind: 'help' }],
    ['c.EXIT', { kind: 'exit' }],
    ['c.Who', { kind: 'who' }],
    ['c.exit now please', { kind: 'exit' }],
    ['c.who\textra', { kind: 'who' }],
    ['c.foo', { kind: 'unknown', name: 'c.foo' }],
    ['c.foo bar baz', { kind: 'unknown', name: 'c.foo' }],
    ['c.', { kind: 'unknown', name: 'c.' }],
    ['c.exitnow', { kind: 'unknown', name: 'c.exitnow' }],
    ['c.constructor', { kind: 'unknown', name: 'c.constructor' }],
  ])('%j', (line, expected) => {
    expect(parseTextCommand(line)).toEqual(expected);
  });

  it.each(['hello', '', 'c', 'cexit', ' c.exit', 'see c.exit', 'x.exit', 'שלום c.who'])('%j is a message, not a command', (line) => {
    expect(parseTextCommand(line)).toBeUndefined();
  });

  it('the server turns each known command into the request JSON mode would send', () => {
    expect(commandRequest({ kind: 'exit' })).toEqual({ type: 'quit' });
    expect(commandRequest({ kind: 'who' })).toEqual({ type: 'who' });
    expect(commandRequest({ kind: 'help' })).toEqual({ type: 'help' });
  });
});
