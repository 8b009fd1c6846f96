import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  SelectQueryNode,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import { StoreError } from '../errors.js';
import type { SqliteFailure, SqliteReply, SqliteRequest, SqliteWorkerData } from './sqlite-protocol.js';

/**
 * The store worker's young generation: statements and their rows are small
 * and short-lived, so 1 MiB semi-spaces (3 MiB of young generation: two
 * semi-spaces and as much for new large objects; V8's default grows them to
 * 16 MiB each during a burst of logins) are plenty. The old generation
 * keeps V8's default: a history replay or a big who list must never run the
 * thread out of heap. docs/performance.md has the numbers.
 */
const STORE_WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 };

/** A failure of a statement run in the store worker, with SQLite's extended result code (as better-sqlite3's SqliteError has it). */
export class SqliteWorkerError extends Error {
  override readonly name = 'SqliteError';
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(reply: Extract<SqliteReply, { ok: true }>): void;
  reject(error: unknown): void;
}

/**
 * The main thread's end of the store worker: posts compiled statements, and
 * settles each with its reply (replies come back in order; ids pair them).
 * `translate` turns SQLite failures a user can cause (SQLITE_BUSY after the
 * busy timeout, a read-only file) into StoreErrors as they arrive.
 */
export class SqliteWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #translate: (error: unknown) => unknown;
  readonly #exited: Promise<void>;
  #nextId = 1;
  #closing = false;
  #failure: StoreError | undefined;

  private constructor(data: SqliteWorkerData, translate: (error: unknown) => unknown, opened: Pending) {
    this.#translate = translate;
    this.#pending.set(0, opened);
    this.#worker = new Worker(workerScript(), { workerData: data, resourceLimits: STORE_WORKER_LIMITS });
    this.#worker.on('message', (reply: SqliteReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#fail(`store worker failed: ${error.message}`, error));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        if (!this.#closing) this.#fail(`store worker exited unexpectedly (code ${code})`);
        resolve();
      });
    });
  }

  /** Starts the worker and resolves once it has opened the file and set its pragmas. */
  static open(data: SqliteWorkerData, translate: (error: unknown) => unknown): Promise<SqliteWorker> {
    return new Promise((resolve, reject) => {
      const worker: SqliteWorker = new SqliteWorker(data, translate, {
        resolve: () => resolve(worker),
        reject: (error) => {
          void worker.close().finally(() => reject(error));
        },
      });
    });
  }

  run(sql: string, parameters: readonly unknown[]): Promise<Extract<SqliteReply, { ok: true }>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closing) return Promise.reject(new StoreError('DB_CLOSED', 'the store is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ op: 'query', id, sql, parameters } satisfies SqliteRequest);
    });
  }

  /** Lets statements already posted finish, then closes the connection and ends the thread. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#worker.postMessage({ op: 'close' } satisfies SqliteRequest);
    }
    await this.#exited;
  }

  #settle(reply: SqliteReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (reply.ok) pending.resolve(reply);
    else pending.reject(this.#translate(toError(reply.error)));
  }

  /** A worker that dies fails every statement waiting on it, and every later one. */
  #fail(message: string, cause?: unknown): void {
    this.#failure ??= new StoreError('DB_CLOSED', message, { cause });
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}

function toError(failure: SqliteFailure): SqliteWorkerError {
  return new SqliteWorkerError(failure.code, failure.message);
}

/**
 * The worker runs compiled JavaScript. Under the test runner these modules
 * are loaded from their TypeScript sources, so the worker is taken from the
 * build next to them (`dist/`), which the integration tests require fresh.
 */
function workerScript(): URL {
  const here = new URL('./sqlite-worker.js', import.meta.url);
  if (existsSync(here)) return here;
  const source = fileURLToPath(import.meta.url);
  const marker = `${'/src/store/dialects/'}`;
  const at = source.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot find the store worker next to ${source}`);
  return pathToFileURL(`${source.slice(0, at)}/dist${marker}sqlite-worker.js`);
}

class SqliteWorkerConnection implements DatabaseConnection {
  constructor(readonly worker: SqliteWorker) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const reply = await this.worker.run(query.sql, query.parameters);
    if (reply.changes === undefined) return { rows: reply.rows as R[] };
    return {
      numAffectedRows: BigInt(reply.changes),
      insertId: reply.lastInsertRowid === undefined ? undefined : BigInt(reply.lastInsertRowid),
      rows: [],
    };
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('the SQLite worker driver streams only select queries');
    const result = await this.executeQuery<R>(query);
    for (const row of result.rows) yield { rows: [row] };
  }
}

/**
 * One connection, one statement at a time, as Kysely's SqliteDriver: a
 * transaction holds the connection (a mutex) from BEGIN to COMMIT.
 */
class SqliteWorkerDriver implements Driver {
  readonly #connection: SqliteWorkerConnection;
  #held: Promise<void> | undefined;
  #release: (() => void) | undefined;

  constructor(worker: SqliteWorker) {
    this.#connection = new SqliteWorkerConnection(worker);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.#held !== undefined) await this.#held;
    this.#held = new Promise((resolve) => (this.#release = resolve));
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#held = undefined;
    this.#release = undefined;
    release?.();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  /** Waits its turn for the connection, so statements queued before it still run, then ends the worker. */
  async destroy(): Promise<void> {
    await this.acquireConnection();
    await this.#connection.worker.close();
  }
}

/** Kysely's SQLite dialect with the statements run by a store worker thread. */
export class SqliteWorkerDialect implements Dialect {
  constructor(
    readonly worker: SqliteWorker,
    readonly createAdapter: () => DialectAdapter,
  ) {}

  createDriver(): Driver {
    return new SqliteWorkerDriver(this.worker);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
