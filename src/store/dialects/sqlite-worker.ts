import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { applySqlitePragmas, type SqliteFailure, type SqliteReply, type SqliteRequest, type SqliteWorkerData } from './sqlite-protocol.js';

// Owns the better-sqlite3 connection of a server process. better-sqlite3 is
// synchronous and waits up to the busy timeout for another process's lock;
// here that wait stalls only this thread, never the server's event loop.
const port = parentPort;
if (port === null) throw new Error('sqlite-worker.js runs as a worker thread');
const { file, busyTimeoutMs } = workerData as SqliteWorkerData;

function failure(error: unknown): SqliteFailure {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
  return { code, message: error instanceof Error ? error.message : String(error) };
}

let db: SqliteDatabase.Database | undefined;
try {
  db = new SqliteDatabase(file, { timeout: busyTimeoutMs });
  applySqlitePragmas(db);
  port.postMessage({ id: 0, ok: true, rows: [] } satisfies SqliteReply);
} catch (error) {
  db?.close();
  db = undefined;
  port.postMessage({ id: 0, ok: false, error: failure(error) } satisfies SqliteReply);
}

/** Statements by their SQL: the server runs a few dozen over and over (the history writer's insert every batch). */
const statements = new Map<string, SqliteDatabase.Statement>();
const MAX_STATEMENTS = 200;

function prepared(open: SqliteDatabase.Database, sql: string): SqliteDatabase.Statement {
  let statement = statements.get(sql);
  if (statement === undefined) {
    // Statements built with a value list of varying length are all different: start over rather than grow.
    if (statements.size >= MAX_STATEMENTS) statements.clear();
    statement = open.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

port.on('message', (request: SqliteRequest) => {
  if (request.op === 'close') {
    db?.close();
    db = undefined;
    port.close();
    return;
  }
  try {
    if (db === undefined) throw new Error('database is not open');
    const statement = prepared(db, request.sql);
    if (statement.reader) {
      port.postMessage({ id: request.id, ok: true, rows: statement.all(request.parameters) as unknown[] } satisfies SqliteReply);
    } else {
      const { changes, lastInsertRowid } = statement.run(request.parameters);
      port.postMessage({ id: request.id, ok: true, rows: [], changes, lastInsertRowid } satisfies SqliteReply);
    }
  } catch (error) {
    port.postMessage({ id: request.id, ok: false, error: failure(error) } satisfies SqliteReply);
  }
});
