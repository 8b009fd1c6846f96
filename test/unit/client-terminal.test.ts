import { describe, expect, it } from 'vitest';
import { cursorRow, displayPos, hiddenInputStep, printAboveInput, submittedRows, type InputState } from '../../src/client/terminal.js';

/**
 * A tiny terminal emulator: enough of VT100 (CR, LF, CUU, CHA, ED 0, pending
 * wrap) to check what the bytes from the display model leave on screen.
 */
class Screen {
  rows: string[][] = [[]];
  row = 0;
  col = 0;
  constructor(readonly width: number) {}

  write(bytes: string): this {
    for (let i = 0; i < bytes.length; i += 1) {
      const ch = bytes[i]!;
      if (ch === '\x1b') {
        const m = /^\x1b\[(\d*)([A-Za-z])/.exec(bytes.slice(i))!;
        const n = m[1] === '' ? 1 : Number(m[1]);
        if (m[2] === 'A') this.row = Math.max(0, this.row - n);
        else if (m[2] === 'G') this.col = n - 1;
        else if (m[2] === 'J') {
          this.line().length = Math.min(this.line().length, this.col);
          this.rows.length = this.row + 1;
        }
        i += m[0].length - 1;
      } else if (ch === '\r') this.col = 0;
      else if (ch === '\n') this.down();
      else {
        // Pending wrap: a full row moves down only when the next character comes.
        if (this.col >= this.width) {
          this.down();
          this.col = 0;
        }
        this.line()[this.col] = ch;
        this.col += 1;
      }
    }
    return this;
  }

  text(): string[] {
    return this.rows.map((r) => Array.from(r, (c) => c ?? ' ').join(''));
  }

  private line(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row]!;
  }

  private down(): void {
    this.row += 1;
    this.line();
  }
}

/** Draws the state the way readline would, leaving the cursor at `cursor`. */
function typed(screen: Screen, state: InputState): Screen {
  return screen.write(printAboveInput(state, 0, []));
}

describe('display model', () => {
  it('computes positions like readline, wide characters included', () => {
    expect(displayPos('> hello', 80)).toEqual({ rows: 0, cols: 7 });
    expect(displayPos('x'.repeat(80), 80)).toEqual({ rows: 1, cols: 0 });
    expect(displayPos('x'.repeat(79) + '世', 80)).toEqual({ rows: 1, cols: 2 });
    expect(displayPos('\x1b[1mbold\x1b[0m', 80)).toEqual({ rows: 0, cols: 4 });
  });

  it('prints above a partial line and puts the cursor back inside it', () => {
    const state: InputState = { prompt: 'shon> ', line: 'hello wor', cursor: 5, columns: 80 };
    const bytes = printAboveInput(state, cursorRow(state), ['09:05 ron: hi']);
    expect(bytes).toBe('\r\x1b[0J09:05 ron: hi\r\nshon> hello wor\x1b[12G');

    const screen = typed(new Screen(80), state);
    screen.col = 11; // where readline left the cursor: after "hello"
    screen.write(bytes);
    expect(screen.text()).toEqual(['09:05 ron: hi', 'shon> hello wor']);
    expect([screen.row, screen.col]).toEqual([1, 11]);
  });

  it('keeps a wrapped partial line intact, cursor on its first row', () => {
    const state: InputState = { prompt: '> ', line: 'abcdefghijklmnop', cursor: 3, columns: 10 };
    expect(cursorRow(state)).toBe(0);
    const bytes = printAboveInput(state, 0, ['one', 'two']);
    expect(bytes).toBe('\r\x1b[0Jone\r\ntwo\r\n> abcdefghijklmnop\x1b[6G\x1b[1A');
    const screen = new Screen(10).write(bytes);
    expect(screen.text()).toEqual(['one', 'two', '> abcdefgh', 'ijklmnop']);
    expect([screen.row, screen.col]).toEqual([2, 5]);
  });

  it('moves up from a cursor on a later row before clearing', () => {
    const state: InputState = { prompt: '> ', line: 'abcdefghijklmnop', cursor: 12, columns: 10 };
    expect(cursorRow(state)).toBe(1);
    const screen = new Screen(10).write('> abcdefghijklmnop');
    screen.row = 1;
    screen.col = 4;
    screen.write(printAboveInput(state, cursorRow(state), ['msg']));
    expect(screen.text()).toEqual(['msg', '> abcdefgh', 'ijklmnop']);
    expect([screen.row, screen.col]).toEqual([2, 4]);
  });

  it('forces the wrap when the input ends exactly at the right edge', () => {
    const state: InputState = { prompt: '> ', line: 'abcdefgh', cursor: 8, columns: 10 };
    const bytes = printAboveInput(state, 0, ['x']);
    expect(bytes).toBe('\r\x1b[0Jx\r\n> abcdefgh \x1b[1G');
  });

  it('replaces a submitted line: rows to go up after Enter', () => {
    expect(submittedRows('> ', 'hi', 80)).toBe(1);
    expect(submittedRows('> ', 'abcdefgh', 10)).toBe(2);
    expect(submittedRows('> ', 'abcdefghijk', 10)).toBe(2);
    const screen = new Screen(80).write('shon> hi\r\n');
    screen.write(printAboveInput({ prompt: 'shon> ', line: '', cursor: 0, columns: 80 }, submittedRows('shon> ', 'hi', 80), ['09:05 shon: hi']));
    expect(screen.text()).toEqual(['09:05 shon: hi', 'shon> ']);
    expect([screen.row, screen.col]).toEqual([1, 6]);
  });

  it('keeps the line through a burst of messages, one redraw per batch', () => {
    const state: InputState = { prompt: 'a> ', line: 'typing', cursor: 6, columns: 40 };
    const screen = typed(new Screen(40), state);
    const burst = Array.from({ length: 50 }, (_, i) => `m${i}`);
    const bytes = printAboveInput(state, 0, burst);
    expect(bytes.match(/a> typing/g)).toHaveLength(1);
    screen.write(bytes);
    expect(screen.text().at(-1)).toBe('a> typing');
    expect(screen.text().slice(0, 50)).toEqual(burst);
  });
});

describe('hidden input', () => {
  it('collects characters and submits on Enter without echo', () => {
    let state = hiddenInputStep({ value: '' }, 's3');
    state = hiddenInputStep(state, 'cr');
    expect(state).toEqual({ value: 's3cr' });
    expect(hiddenInputStep(state, 'et\r')).toEqual({ value: 's3cret', done: 'submit' });
    expect(hiddenInputStep({ value: '' }, 'pw\n')).toEqual({ value: 'pw', done: 'submit' });
  });

  it('edits with backspace and Ctrl-U, ignores arrows and controls', () => {
    expect(hiddenInputStep({ value: '' }, 'abc\x7f\x7fd\x1b[D\x1bOA\x01e')).toEqual({ value: 'ade' });
    expect(hiddenInputStep({ value: 'abc' }, '\x15x')).toEqual({ value: 'x' });
    expect(hiddenInputStep({ value: 'ü' }, '\b')).toEqual({ value: '' });
  });

  it('cancels on Ctrl-C, and on Ctrl-D only when empty', () => {
    expect(hiddenInputStep({ value: 'abc' }, '\x03')).toEqual({ value: '', done: 'cancel' });
    expect(hiddenInputStep({ value: '' }, '\x04')).toEqual({ value: '', done: 'cancel' });
    expect(hiddenInputStep({ value: 'a' }, '\x04')).toEqual({ value: 'a' });
  });
});
