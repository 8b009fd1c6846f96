/**
 * Another process holding the SQLite write lock, as an admin script, a backup
 * or a forgotten `sqlite3` shell would:
 *
 *   node dist/bench/sqlite-lock-holder.js FILE [HOLD_MS]
 *
 * Takes the write lock (BEGIN IMMEDIATE), prints `locked`, and releases it
 * (ROLLBACK) after HOLD_MS, or when its standard input ends, whichever comes
 * first; prints `released` and exits. Used by the store tests and the bench.
 */
import SqliteDatabase from 'better-sqlite3';

const [file, holdArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: sqlite-lock-holder FILE [HOLD_MS]\n');
  process.exit(2);
}
const holdMs = holdArg === undefined ? Number.POSITIVE_INFINITY : Number(holdArg);
const db = new SqliteDatabase(file, { timeout: 10_000, fileMustExist: true });
db.exec('begin immediate');
process.stdout.write('locked\n');

let released = false;
function release(): void {
  if (released) return;
  released = true;
  db.exec('rollback');
  db.close();
  process.stdout.write('released\n');
  process.exit(0);
}
if (Number.isFinite(holdMs)) setTimeout(release, holdMs);
process.stdin.on('end', release).on('error', release).resume();
