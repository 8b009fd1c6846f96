import { describe, expect, it } from 'vitest';
import { parseTextCommand, type TextCommand } from '../../src/server/commands.js';

describe('parseTextCommand', () => {
  it.each<[string, TextCommand]>([
    ['c.exit', { kind: 'request', request: { type: 'quit' } }],
    ['c.who', { kind: 'request', request: { type: 'who' } }],
    ['c.help', { kind: 'request', request: { type: 'help' } }],
    ['c.EXIT', { kind: 'request', request: { type: 'quit' } }],
    ['c.Who', { kind: 'request', request: { type: 'who' } }],
    ['c.exit now please', { kind: 'request', request: { type: 'quit' } }],
    ['c.who\textra', { kind: 'request', request: { type: 'who' } }],
    ['c.foo', { kind: 'unknown', name: 'c.foo' }],
    ['c.foo bar baz', { kind: 'unknown', name: 'c.foo' }],
    ['c.', { kind: 'unknown', name: 'c.' }],
    ['c.exitnow', { kind: 'unknown', name: 'c.exitnow' }],
  ])('%j', (line, expected) => {
    expect(parseTextCommand(line)).toEqual(expected);
  });

  it.each(['hello', '', 'c', 'cexit', ' c.exit', 'see c.exit', 'x.exit', 'שלום c.who'])('%j is a message, not a command', (line) => {
    expect(parseTextCommand(line)).toBeUndefined();
  });
});
