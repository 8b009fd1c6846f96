import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isPostgresUrl } from '../store/dialects/postgres-url.js';
import { openStore, type Store } from '../store/open-store.js';
import type { TextSink } from './deps.js';
import type { StoreSettings } from './options.js';

/**
 * Opens the database for one verb, runs `work`, and closes it whatever
 * happens. SQLite failures inside `work` (a lock held past the busy timeout)
 * become StoreErrors like those of opening. With `create`, a missing database
 * is created and said so on stderr.
 */
export async function withStore<T>(
  settings: StoreSettings,
  access: { create: false } | { create: true; stderr: TextSink },
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const existed = isPostgresUrl(settings.file) || existsSync(resolve(settings.file));
  // Inline: chat-admin runs one verb and exits; its event loop has nothing to
  // keep serving while a statement waits, so a worker thread would only add start-up time.
  const store = await openStore({ file: settings.file, create: access.create, busyTimeoutMs: settings.busyTimeoutMs, poolSize: settings.poolSize, thread: 'inline' });
  if (access.create && !existed) access.stderr.write(`created database ${store.file}\n`);
  try {
    return await work(store);
  } catch (error) {
    throw store.translateError(error);
  } finally {
    await store.close();
  }
}
