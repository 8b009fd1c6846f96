import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { AdminInput } from '../../src/admin/deps.js';
import { CliError } from '../../src/admin/errors.js';
import { promptHidden, readNewPassword } from '../../src/admin/prompt-password.js';
import { readAll, readFirstLine } from '../../src/admin/read-input.js';

function fakeTerminal(): AdminInput & PassThrough & { setRawMode: ReturnType<typeof vi.fn> } {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode: ReturnType<typeof vi.fn> };
  input.isTTY = true;
  input.setRawMode = vi.fn();
  return input;
}

function sink(): { text: string; write(chunk: string): void } {
  return {
    text: '',
    write(chunk) {
      this.text += chunk;
    },
  };
}

describe('promptHidden', () => {
  it('reads in raw mode without echo, handles backspace and multi-byte input, restores the terminal', async () => {
    const input = fakeTerminal();
    const output = sink();
    const typed = promptHidden(input, output, 'Password: ');
    const bytes = Buffer.from('pé\u007fa€x\r');
    // Split inside the multi-byte characters: the decoder must join them.
    input.write(bytes.subarray(0, 2));
    input.write(bytes.subarray(2));
    await expect(typed).resolves.toBe('pa€x');
    expect(output.text).toBe('Password: \n');
    expect(input.setRawMode.mock.calls).toEqual([[true], [false]]);
  });

  it('aborts on Ctrl-C with exit code 130', async () => {
    const input = fakeTerminal();
    const typed = promptHidden(input, sink(), 'Password: ');
    input.write('abc\u0003');
    await expect(typed).rejects.toMatchObject({ code: 'ABORTED', exitCode: 130 });
    expect(input.setRawMode).toHaveBeenLastCalledWith(false);
  });
});

describe('readNewPassword', () => {
  it('asks twice on a terminal and returns the password when both match', async () => {
    const input = fakeTerminal();
    const stderr = sink();
    const password = readNewPassword({ stdin: input, stderr }, false, 'shon');
    input.write('s3cret\r');
    await vi.waitFor(() => expect(stderr.text).toContain('Repeat'), { timeout: 1000 });
    input.write('s3cret\n');
    await expect(password).resolves.toBe('s3cret');
    expect(stderr.text).not.toContain('s3cret');
  });

  it('refuses two different passwords', async () => {
    const input = fakeTerminal();
    const stderr = sink();
    const password = readNewPassword({ stdin: input, stderr }, false, 'shon');
    input.write('one\r');
    await vi.waitFor(() => expect(stderr.text).toContain('Repeat'), { timeout: 1000 });
    input.write('two\r');
    await expect(password).rejects.toMatchObject({ code: 'PASSWORD_MISMATCH', exitCode: 1 });
  });

  it('refuses to prompt when standard input is not a terminal', async () => {
    const error = await readNewPassword({ stdin: new PassThrough(), stderr: sink() }, false, 'shon').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ code: 'NO_TERMINAL', exitCode: 2 });
  });

  it('reads the first line of standard input with --password-stdin', async () => {
    const input = new PassThrough();
    input.end('pw\r\nrest\n');
    await expect(readNewPassword({ stdin: input, stderr: sink() }, true, 'shon')).resolves.toBe('pw');
  });
});

describe('reading standard input', () => {
  it('readFirstLine stops at the first newline, even before the end of input', async () => {
    const input = new PassThrough();
    const line = readFirstLine(input);
    input.write('abc');
    input.write('d\nmore');
    await expect(line).resolves.toBe('abcd');
  });

  it('readFirstLine returns everything when there is no newline, and "" for empty input', async () => {
    const input = new PassThrough();
    input.end('no newline');
    await expect(readFirstLine(input)).resolves.toBe('no newline');
    const empty = new PassThrough();
    empty.end();
    await expect(readFirstLine(empty)).resolves.toBe('');
  });

  it('readAll returns the whole input as UTF-8', async () => {
    const input = new PassThrough();
    input.end(Buffer.from('a:1\nb:€\n'));
    await expect(readAll(input)).resolves.toBe('a:1\nb:€\n');
  });
});
