import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertMessages } from '../../src/store/history.js';
import { expectFailure, expectOk, makeAdminFixture, type AdminFixture } from '../helpers/chat-admin.js';
import { queryDb } from '../helpers/db-peek.js';
import { withTestStore } from '../helpers/store-fixtures.js';

let f: AdminFixture;
const now = Date.now();
const at = (msAgo: number) => new Date(now - msAgo).toISOString();
const id = (msAgo: number) => `${(now - msAgo).toString(36).padStart(9, '0')}000-0000000000000000`;

beforeEach(async () => {
  f = await makeAdminFixture();
  await f.addUsers('shon', 'dana');
  await withTestStore(f.db, (db) =>
    insertMessages(db, [
      { id: id(3 * 86_400_000), from: 'shon', text: 'three days ago', ts: at(3 * 86_400_000) },
      { id: id(2 * 3_600_000), from: 'dana', text: 'two hours ago', ts: at(2 * 3_600_000) },
      // What a server would never store, written by some other program: the table must not pass it to a terminal.
      { id: id(60_000), from: 'Shon', text: 'a minute ago \x1b[2J\x1b]0;owned\x07!', ts: at(60_000) },
    ]),
  );
});
afterEach(async () => {
  await f?.dir.remove();
});

async function texts(args: readonly string[]): Promise<string[]> {
  const result = await f.admin(['history', ...args, '--json']);
  expectOk(result);
  return (JSON.parse(result.stdout) as Array<{ text: string }>).map((row) => row.text);
}

describe('chat-admin history', () => {
  it('lists stored messages oldest first, filtered by --since (a duration or an ISO time), --user (any case) and --limit', async () => {
    expect(await texts([])).toEqual(['three days ago', 'two hours ago', 'a minute ago \x1b[2J\x1b]0;owned\x07!']);
    expect(await texts(['--since', '3h'])).toHaveLength(2);
    expect(await texts(['--since', at(90 * 60_000)])).toHaveLength(1);
    expect(await texts(['--since', at(4 * 86_400_000).slice(0, 10)])).toHaveLength(3);
    expect(await texts(['--user', 'SHON'])).toEqual(['three days ago', 'a minute ago \x1b[2J\x1b]0;owned\x07!']);
    // The most recent that match, still oldest first.
    expect(await texts(['list', '--limit', '2'])).toEqual(['two hours ago', 'a minute ago \x1b[2J\x1b]0;owned\x07!']);
    const json = await f.admin(['history', '--json', '--limit', '1']);
    expect(JSON.parse(json.stdout)).toEqual([{ id: id(60_000), ts: at(60_000), username: 'Shon', text: 'a minute ago \x1b[2J\x1b]0;owned\x07!' }]);
  }, 60_000);

  it('prints a sanitised table, and says so when there is nothing', async () => {
    const table = await f.admin(['history']);
    expectOk(table);
    expect(table.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^time\s+user\s+text$/);
    expect(lines[4]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  Shon  a minute ago !$/);
    const none = await f.admin(['history', '--since', '1s']);
    expect(none.stdout).toBe('no messages\n');
  });

  it('purge --before deletes older messages, purge --all the rest; each is audited with the admin and the count', async () => {
    const older = await f.admin(['history', 'purge', '--before', '1d'], { env: { USER: 'opsadmin' } });
    expectOk(older);
    expect(older.stdout).toMatch(/^deleted 1 message older than \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    expect(await texts([])).toHaveLength(2);
    const all = await f.admin(['history', 'purge', '--all']);
    expectOk(all);
    expect(all.stdout).toBe('deleted 2 messages\n');
    expect(await texts([])).toEqual([]);
    const audit = queryDb<{ event: string; actor: string; detail: string }>(f.db, "select event, actor, detail from audit_log where event = 'history_purge' order by id");
    expect(audit).toHaveLength(2);
    expect(audit[0]!.detail).toMatch(/^before \d{4}-.*Z: 1 message$/);
    expect(audit[1]!.detail).toBe('all: 2 messages');
    expect(audit[0]!.actor).toBe(audit[1]!.actor);
    expect(audit[0]!.actor).not.toBe('');
  }, 60_000);

  it('refuses a purge without --before or --all, or with both, and bad values, in one line with exit 2', async () => {
    expectFailure(await f.admin(['history', 'purge']), 2, /either --before DURATION or --all/);
    expectFailure(await f.admin(['history', 'purge', '--all', '--before', '1d']), 2, /either --before DURATION or --all/);
    expectFailure(await f.admin(['history', 'purge', '--before', 'soon']), 2, /--before/);
    expectFailure(await f.admin(['history', '--since', 'yesterday']), 2, /--since/);
    expectFailure(await f.admin(['history', '--limit', '0']), 2, /--limit/);
    expect(await texts([])).toHaveLength(3);
  }, 60_000);
});
