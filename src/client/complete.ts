/**
 * Tab completion of online usernames in chat-client's line editor: the word
 * being typed (after the last space) is completed from the names online,
 * matched case-insensitively. After `/msg` or `c.msg` the completed name gets
 * its trailing space, since the message follows. Pure.
 */
export function completeUsername(line: string, online: readonly string[]): [string[], string] {
  const start = line.search(/\S*$/);
  const word = line.slice(start);
  if (word === '') return [[], word];
  const lower = word.toLowerCase();
  const matches = [...new Set(online)].filter((name) => name.toLowerCase().startsWith(lower)).sort();
  const afterCommand = /^(?:\/msg|c\.msg)\s+$/i.test(line.slice(0, start));
  return [afterCommand && matches.length === 1 ? [`${matches[0]!} `] : matches, word];
}

/** Who is online, as the events a client sees tell it (login_ok, join, leave, who). */
export class OnlineUsers {
  readonly #names = new Map<string, string>();

  /** Replaces everything known (login_ok's `users`, a `who` reply). */
  reset(users: readonly string[]): void {
    this.#names.clear();
    for (const name of users) this.#names.set(name.toLowerCase(), name);
  }

  joined(user: string): void {
    this.#names.set(user.toLowerCase(), user);
  }

  left(user: string): void {
    this.#names.delete(user.toLowerCase());
  }

  list(): string[] {
    return [...this.#names.values()];
  }
}
