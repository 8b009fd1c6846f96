import { describe, expect, it } from 'vitest';
import { LineSplitter, type SplitEvent } from '../../src/protocol/line-splitter.js';

type Feed = 'whole' | 'byte by byte';
const FEEDS: readonly Feed[] = ['whole', 'byte by byte'];

/** Feeds `bytes` to a fresh splitter whole or one byte per push; checks the buffering bound after every push. */
function split(bytes: Buffer, limit: number, feed: Feed): { events: SplitEvent[]; splitter: LineSplitter } {
  const splitter = new LineSplitter(limit);
  const events: SplitEvent[] = [];
  const chunks = feed === 'whole' ? [bytes] : [...bytes].map((b) => Buffer.from([b]));
  for (const chunk of chunks) {
    events.push(...splitter.push(chunk));
    expect(splitter.bufferedBytes).toBeLessThanOrEqual(limit + 1);
  }
  return { events, splitter };
}

const line = (text: string): SplitEvent => ({ kind: 'line', line: text });
const TOO_LONG: SplitEvent = { kind: 'too_long' };

interface Case {
  name: string;
  input: Buffer;
  limit: number;
  events: SplitEvent[];
  /** Bytes left buffered for the unfinished line. */
  buffered: number;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

const CASES: Case[] = [
  { name: 'one LF line', input: utf8('hello\n'), limit: 16, events: [line('hello')], buffered: 0 },
  { name: 'CRLF drops the CR', input: utf8('hello\r\n'), limit: 16, events: [line('hello')], buffered: 0 },
  { name: 'only one CR before LF is dropped', input: utf8('a\r\r\n'), limit: 16, events: [line('a\r')], buffered: 0 },
  { name: 'a CR inside a line is kept', input: utf8('a\rb\n'), limit: 16, events: [line('a\rb')], buffered: 0 },
  { name: 'empty lines', input: utf8('\n\r\n\n'), limit: 16, events: [line(''), line(''), line('')], buffered: 0 },
  { name: 'several lines', input: utf8('one\ntwo\r\nthree\n'), limit: 16, events: [line('one'), line('two'), line('three')], buffered: 0 },
  { name: 'unfinished tail stays buffered', input: utf8('one\ntw'), limit: 16, events: [line('one')], buffered: 2 },
  { name: 'no newline at all', input: utf8('abc'), limit: 16, events: [], buffered: 3 },
  { name: 'exactly the limit', input: utf8('abcd\n'), limit: 4, events: [line('abcd')], buffered: 0 },
  { name: 'exactly the limit with CRLF', input: utf8('abcd\r\n'), limit: 4, events: [line('abcd')], buffered: 0 },
  { name: 'one byte over the limit', input: utf8('abcde\n'), limit: 4, events: [TOO_LONG], buffered: 0 },
  { name: 'limit plus CR plus one more byte', input: utf8('abcd\rx\n'), limit: 4, events: [TOO_LONG], buffered: 0 },
  {
    name: 'too long line is discarded up to its newline, next line survives',
    input: utf8('abcdefghijkl\nok\n'),
    limit: 4,
    events: [TOO_LONG, line('ok')],
    buffered: 0,
  },
  {
    name: 'lines around a too long one',
    input: utf8('a\nxxxxxxxxxxxxxxxxxxxx\r\nb\n'),
    limit: 4,
    events: [line('a'), TOO_LONG, line('b')],
    buffered: 0,
  },
  { name: 'two too long lines in a row', input: utf8('xxxxxxx\nyyyyyyy\nz\n'), limit: 4, events: [TOO_LONG, TOO_LONG, line('z')], buffered: 0 },
  { name: 'unfinished too long line reported once and held nowhere', input: utf8('x'.repeat(100)), limit: 4, events: [TOO_LONG], buffered: 0 },
  { name: 'Hebrew and emoji', input: utf8('שלום עולם 👋🏽\n'), limit: 64, events: [line('שלום עולם 👋🏽')], buffered: 0 },
  { name: 'ZWJ emoji sequence', input: utf8('👩‍👩‍👧\n'), limit: 64, events: [line('👩‍👩‍👧')], buffered: 0 },
  { name: 'limit counts bytes, not characters (fits)', input: utf8('של\n'), limit: 4, events: [line('של')], buffered: 0 },
  { name: 'limit counts bytes, not characters (too long)', input: utf8('שלו\n'), limit: 4, events: [TOO_LONG], buffered: 0 },
  { name: 'invalid byte becomes U+FFFD', input: Buffer.from([0x61, 0xff, 0x62, 0x0a]), limit: 16, events: [line('a\uFFFDb')], buffered: 0 },
  { name: 'truncated sequence at line end becomes U+FFFD', input: Buffer.from([0x61, 0xe2, 0x82, 0x0a]), limit: 16, events: [line('a\uFFFD')], buffered: 0 },
  { name: 'overlong encoding becomes U+FFFD', input: Buffer.from([0xc0, 0xaf, 0x0a]), limit: 16, events: [line('\uFFFD\uFFFD')], buffered: 0 },
  { name: 'NUL bytes pass through the splitter', input: Buffer.from([0x61, 0x00, 0x62, 0x0a]), limit: 16, events: [line('a\u0000b')], buffered: 0 },
];

describe('LineSplitter', () => {
  for (const feed of FEEDS) {
    describe(`fed ${feed}`, () => {
      it.each(CASES)('$name', ({ input, limit, events, buffered }) => {
        const result = split(input, limit, feed);
        expect(result.events).toEqual(events);
        expect(result.splitter.bufferedBytes).toBe(buffered);
      });

      it('a too long line that is still arriving is discarded until its newline', () => {
        const splitter = new LineSplitter(8);
        const events: SplitEvent[] = [];
        const pushAll = (bytes: Buffer): void => {
          const chunks = feed === 'whole' ? [bytes] : [...bytes].map((b) => Buffer.from([b]));
          for (const c of chunks) {
            events.push(...splitter.push(c));
            expect(splitter.bufferedBytes).toBeLessThanOrEqual(9);
          }
        };
        pushAll(utf8('y'.repeat(1000)));
        expect(events).toEqual([TOO_LONG]);
        expect(splitter.bufferedBytes).toBe(0);
        pushAll(utf8('z'.repeat(1000)));
        expect(events).toEqual([TOO_LONG]);
        expect(splitter.bufferedBytes).toBe(0);
        pushAll(utf8('tail\nnext\n'));
        expect(events).toEqual([TOO_LONG, line('next')]);
      });
    });
  }

  it('every two-chunk split of a mixed stream gives the same events', () => {
    const input = Buffer.concat([utf8('hi\r\nשלום👋\n'), utf8('x'.repeat(13)), utf8('\n'), Buffer.from([0xff, 0x0a]), utf8('end\n')]);
    const expected = [line('hi'), line('שלום👋'), TOO_LONG, line('\uFFFD'), line('end')];
    for (let cut = 0; cut <= input.length; cut++) {
      const splitter = new LineSplitter(12);
      const events = [...splitter.push(input.subarray(0, cut)), ...splitter.push(input.subarray(cut))];
      expect(events, `cut at ${cut}`).toEqual(expected);
      expect(splitter.bufferedBytes).toBe(0);
    }
  });

  it('copies the tail, so reusing the pushed buffer does not corrupt it', () => {
    const splitter = new LineSplitter(16);
    const chunk = utf8('abc');
    expect(splitter.push(chunk)).toEqual([]);
    chunk.fill(0x7a);
    expect(splitter.push(utf8('d\n'))).toEqual([line('abcd')]);
  });

  it('setMaxLineBytes applies to lines not yet complete', () => {
    const splitter = new LineSplitter(4);
    expect(splitter.maxLineBytes).toBe(4);
    expect(splitter.push(utf8('abcdefgh\n'))).toEqual([TOO_LONG]);
    splitter.setMaxLineBytes(16);
    expect(splitter.maxLineBytes).toBe(16);
    expect(splitter.push(utf8('abcdefgh\n'))).toEqual([line('abcdefgh')]);
  });

  it('never buffers more than limit + 1 bytes of one unfinished line', () => {
    const limit = 4096;
    const splitter = new LineSplitter(limit);
    const events: SplitEvent[] = [];
    for (let i = 0; i < 100; i++) {
      events.push(...splitter.push(Buffer.alloc(1000, 0x61)));
      expect(splitter.bufferedBytes).toBeLessThanOrEqual(limit + 1);
    }
    expect(events).toEqual([TOO_LONG]);
  });
});

describe('each: events one at a time, and a visitor that stops', () => {
  it('hands over the same events as push, in order', () => {
    const splitter = new LineSplitter(16);
    const seen: SplitEvent[] = [];
    splitter.each(utf8('one\ntwo\nthr'), (event) => {
      seen.push(event);
    });
    splitter.each(utf8('ee\n'), (event) => {
      seen.push(event);
    });
    expect(seen).toEqual([line('one'), line('two'), line('three')]);
  });

  it('returning false stops at that line: the rest of the chunk and every later chunk are dropped unlooked-at', () => {
    const splitter = new LineSplitter(16);
    const seen: SplitEvent[] = [];
    splitter.each(utf8('one\nstop\nthree\nfour'), (event) => {
      seen.push(event);
      return !(event.kind === 'line' && event.line === 'stop');
    });
    expect(seen).toEqual([line('one'), line('stop')]);
    expect(splitter.bufferedBytes).toBe(0);
    splitter.each(utf8('\nfive\n'), (event) => {
      seen.push(event);
    });
    expect(splitter.push(utf8('six\n'))).toEqual([]);
    expect(seen).toEqual([line('one'), line('stop')]);
  });

  it('a stop on a too-long line drops its tail too', () => {
    const splitter = new LineSplitter(4);
    const seen: SplitEvent[] = [];
    splitter.each(utf8('ok\nmuch too long'), (event) => {
      seen.push(event);
      return event.kind !== 'too_long';
    });
    expect(seen).toEqual([line('ok'), TOO_LONG]);
    expect(splitter.push(utf8('\nlater\n'))).toEqual([]);
  });
});
