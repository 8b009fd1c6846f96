/** Where output goes: process.stdout in production, a string buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** Standard input; `setRawMode` exists only on a terminal. */
export interface AdminInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}

/** Everything chat-admin takes from its process, injected so the program runs in tests. */
export interface AdminDeps {
  stdout: TextSink;
  stderr: TextSink;
  stdin: AdminInput;
  env: Readonly<Record<string, string | undefined>>;
  /** Recorded as the audit log's actor: the OS user running chat-admin. */
  actor: string;
  now: () => Date;
}
