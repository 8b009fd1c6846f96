import { StringDecoder } from 'node:string_decoder';
import { CliError } from './errors.js';

/** An import file larger than this is refused rather than read into memory. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * Reads up to the first newline (or the end) and stops reading, so a
 * password typed on a terminal with `--password-stdin` ends at Enter. A
 * trailing `\r` is stripped.
 */
export async function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  return new Promise((resolve, reject) => {
    const finish = (line: string): void => {
      stop();
      resolve(line.endsWith('\r') ? line.slice(0, -1) : line);
    };
    const onData = (chunk: Buffer | string): void => {
      text += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const newline = text.indexOf('\n');
      if (newline >= 0) finish(text.slice(0, newline));
    };
    const onEnd = (): void => finish(text + decoder.end());
    const onError = (error: Error): void => {
      stop();
      reject(error);
    };
    const stop = (): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
}

/** Reads the whole stream as UTF-8. */
export async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) {
      throw new CliError('FILE_UNREADABLE', `standard input is larger than ${MAX_INPUT_BYTES} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
