import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';

// ---------------------------------------------------------------------------
// The display model: pure functions that give the exact bytes to write. They
// mirror how node:readline lays out `prompt + line` (its getCursorPos and
// refresh), so readline's own idea of the screen stays true after we draw.
// ---------------------------------------------------------------------------

const CSI = '\x1b[';

/** Columns a character takes: 0 for combining marks and zero-width, 2 for wide East Asian and emoji. */
export function charWidth(char: string): number {
  const code = char.codePointAt(0)!;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return 0;
  if (/^[\p{Mn}\p{Me}\u200b-\u200f\u2060\ufeff]$/u.test(char)) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export interface DisplayPos {
  readonly rows: number;
  readonly cols: number;
}

/** Where the cursor ends after writing `text` from column 0 of a `columns`-wide terminal (readline's rule). */
export function displayPos(text: string, columns: number): DisplayPos {
  let offset = 0;
  for (const char of stripVTControlCharacters(text)) {
    const width = charWidth(char);
    if (width === 2 && (offset + 1) % columns === 0) offset += 1; // a wide character does not split across rows
    offset += width;
  }
  const cols = offset % columns;
  return { rows: (offset - cols) / columns, cols };
}

/** The input line being typed: what readline shows under the printed lines. */
export interface InputState {
  readonly prompt: string;
  readonly line: string;
  /** Index into `line`, in UTF-16 units as readline counts. */
  readonly cursor: number;
  readonly columns: number;
}

/**
 * Bytes that print `lines` above the input line and redraw the input with the
 * cursor where it was. `rowsUp` is how far the cursor is below the first row
 * of the input block (readline's `getCursorPos().rows` while typing).
 */
export function printAboveInput(state: InputState, rowsUp: number, lines: readonly string[]): string {
  const columns = Math.max(1, state.columns);
  let out = rowsUp > 0 ? `${CSI}${rowsUp}A` : '';
  out += `\r${CSI}0J`;
  for (const text of lines) out += `${text}\r\n`;
  return out + drawInput(state);
  function drawInput(s: InputState): string {
    const full = s.prompt + s.line;
    const end = displayPos(full, columns);
    const cursor = displayPos(s.prompt + s.line.slice(0, s.cursor), columns);
    let bytes = full;
    if (end.cols === 0) bytes += ' '; // make the terminal wrap now, as readline does
    bytes += `${CSI}${cursor.cols + 1}G`;
    if (end.rows - cursor.rows > 0) bytes += `${CSI}${end.rows - cursor.rows}A`;
    return bytes;
  }
}

/** Rows from the cursor's row up to the first row of the input block. */
export function cursorRow(state: InputState): number {
  return displayPos(state.prompt + state.line.slice(0, state.cursor), Math.max(1, state.columns)).rows;
}

/**
 * After Enter readline leaves the cursor on the row below the submitted input;
 * this many rows up is where that input started (so it can be replaced).
 */
export function submittedRows(prompt: string, line: string, columns: number): number {
  return displayPos(prompt + line, Math.max(1, columns)).rows + 1;
}

// ---------------------------------------------------------------------------
// Hidden input (passwords): a pure step over raw key bytes.
// ---------------------------------------------------------------------------

export interface HiddenInput {
  readonly value: string;
  /** Set when input is over: Enter, Ctrl-C, or Ctrl-D on an empty value. */
  readonly done?: 'submit' | 'cancel';
}

const ESCAPE_SEQUENCE = /^\x1b(?:\[[0-?]*[ -/]*[@-~]|O.|.)?/;

/** Applies raw terminal bytes to a hidden input; nothing is ever echoed. */
export function hiddenInputStep(state: HiddenInput, chunk: string): HiddenInput {
  let value = state.value;
  let i = 0;
  while (i < chunk.length) {
    const char = String.fromCodePoint(chunk.codePointAt(i)!);
    if (char === '\x1b') {
      i += ESCAPE_SEQUENCE.exec(chunk.slice(i))![0].length; // arrow keys and the like
      continue;
    }
    i += char.length;
    if (char === '\r' || char === '\n') return { value, done: 'submit' };
    if (char === '\x03') return { value: '', done: 'cancel' };
    if (char === '\x04') {
      if (value === '') return { value: '', done: 'cancel' };
      continue;
    }
    if (char === '\x7f' || char === '\b') value = [...value].slice(0, -1).join('');
    else if (char === '\x15') value = '';
    else if (char >= ' ') value += char;
  }
  return { value };
}

// ---------------------------------------------------------------------------
// The terminal itself.
// ---------------------------------------------------------------------------

/** stdin as chat-client needs it; `setRawMode` exists on a TTY. */
export type TerminalInput = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
/** stdout; `columns` exists on a TTY. */
export type TerminalOutput = Writable & { columns?: number; isTTY?: boolean };

export interface ChatHandlers {
  /** A line the user submitted. */
  line(text: string): void;
  /** Tab: the completions of the line typed so far and the part they replace (readline's completer). */
  complete?(line: string): [string[], string];
  /** Ctrl-D or Ctrl-C: the user wants to leave. */
  leave(): void;
}

/**
 * The interactive display: questions before login, then a readline prompt
 * whose typed line stays intact while lines are printed above it. Prints are
 * coalesced into one redraw per turn of the event loop.
 */
export class Terminal {
  readonly #input: TerminalInput;
  readonly #output: TerminalOutput;
  #rl: readline.Interface | undefined;
  #pending: string[] = [];
  #flushScheduled = false;
  /** Set after Enter: rows of the submitted input still on screen, to be replaced by the sent line. */
  #submitted = 0;
  /** Lines drawn between the printed lines and the input (our lines waiting for the server), redrawn on each flush. */
  #status: string[] = [];
  /** Rows the status block took when last drawn. */
  #statusRows = 0;
  #statusChanged = false;

  constructor(input: TerminalInput, output: TerminalOutput) {
    this.#input = input;
    this.#output = output;
  }

  get #fancy(): boolean {
    return this.#output.isTTY === true && this.#input.isTTY === true;
  }

  get #columns(): number {
    return this.#output.columns !== undefined && this.#output.columns > 0 ? this.#output.columns : 80;
  }

  /** Asks one visible question; null on Ctrl-D, Ctrl-C or `signal`. */
  ask(prompt: string, signal?: AbortSignal): Promise<string | null> {
    return new Promise((resolve) => {
      const rl = readline.createInterface({ input: this.#input, output: this.#output, terminal: this.#fancy, historySize: 0 });
      let answer: string | null = null;
      const onAbort = (): void => rl.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      rl.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
        if (answer === null) this.#output.write('\n');
        resolve(answer);
      });
      rl.question(prompt, (text) => {
        answer = text;
        rl.close();
      });
      if (signal?.aborted === true) rl.close();
    });
  }

  /** Asks for a password without echoing anything; null on Ctrl-C, Ctrl-D or `signal`. */
  askHidden(prompt: string, signal?: AbortSignal): Promise<string | null> {
    const input = this.#input;
    // Raw mode first: the change waits for output to drain, and a password typed
    // in answer to a prompt already shown would be echoed by the still-cooked tty.
    input.setRawMode?.(true);
    this.#output.write(prompt);
    return new Promise((resolve) => {
      let state: HiddenInput = { value: '' };
      const finish = (result: string | null): void => {
        input.off('data', onData);
        input.off('end', onEnd);
        signal?.removeEventListener('abort', onEnd);
        input.pause();
        input.setRawMode?.(false);
        this.#output.write('\n');
        resolve(result);
      };
      signal?.addEventListener('abort', onEnd, { once: true });
      const onData = (chunk: Buffer | string): void => {
        state = hiddenInputStep(state, chunk.toString());
        if (state.done !== undefined) finish(state.done === 'submit' ? state.value : null);
      };
      function onEnd(): void {
        finish(null);
      }
      input.on('data', onData);
      input.once('end', onEnd);
      input.resume();
    });
  }

  /** Starts the chat prompt. */
  startChat(prompt: string, handlers: ChatHandlers): void {
    const complete = handlers.complete;
    const rl = readline.createInterface({ input: this.#input, output: this.#output, terminal: this.#fancy, prompt, historySize: 200, ...(complete === undefined ? {} : { completer: (line: string) => complete(line) }) });
    this.#rl = rl;
    rl.on('line', (text) => {
      if (this.#fancy) this.#submitted = submittedRows(prompt, text, this.#columns);
      handlers.line(text);
      // Lines printed by the handler already redrew the prompt; else draw it now.
      if (this.#rl === rl && this.#submitted > 0) this.#flush();
    });
    rl.on('SIGINT', () => handlers.leave());
    rl.on('close', () => {
      if (this.#rl === rl) {
        this.#rl = undefined;
        handlers.leave();
      }
    });
    rl.prompt();
  }

  /** Ends the chat prompt without calling `leave`; later prints go straight out. */
  stopChat(): void {
    const rl = this.#rl;
    if (rl === undefined) return;
    if (this.#status.length > 0) this.setStatus([]);
    this.#flush();
    this.#rl = undefined;
    if (this.#fancy) this.#output.write(`\r${CSI}0J`);
    rl.close();
  }

  /**
   * Sets the status block: lines kept just above the input line, replaced by
   * the next call (not scrolled away like printed lines). Only on a terminal;
   * elsewhere nothing is shown for them.
   */
  setStatus(lines: readonly string[]): void {
    if (!this.#fancy) return;
    this.#status = [...lines];
    this.#statusChanged = true;
    this.#schedule();
  }

  /** Prints lines above the input line (coalesced), or straight out when no prompt is shown. */
  print(lines: readonly string[]): void {
    if (lines.length === 0) return;
    if (this.#rl === undefined || !this.#fancy) {
      this.#output.write(lines.map((l) => `${l}\n`).join(''));
      return;
    }
    this.#pending.push(...lines);
    if (this.#submitted > 0) {
      this.#flush(); // right after Enter: replace the submitted input at once
      return;
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const rl = this.#rl;
    if (rl === undefined) {
      if (this.#pending.length > 0) this.#output.write(this.#pending.map((l) => `${l}\n`).join(''));
      this.#pending = [];
      return;
    }
    if (this.#pending.length === 0 && this.#submitted === 0 && !this.#statusChanged) return;
    const state: InputState = { prompt: rl.getPrompt(), line: rl.line, cursor: rl.cursor, columns: this.#columns };
    // Up over the input (or the submitted input) and the status block drawn last time; both are redrawn.
    const rowsUp = (this.#submitted > 0 ? this.#submitted : cursorRow(state)) + this.#statusRows;
    this.#output.write(printAboveInput(state, rowsUp, [...this.#pending, ...this.#status]));
    this.#statusRows = this.#status.reduce((rows, line) => rows + displayPos(line, this.#columns).rows + 1, 0);
    this.#statusChanged = false;
    this.#pending = [];
    this.#submitted = 0;
  }
}
