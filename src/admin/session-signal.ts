import { randomUUID } from 'node:crypto';
import type { SessionEndKind } from '../bus/bus.js';
import type { SessionRow } from '../store/schema.js';
import type { TextSink } from './deps.js';
import type { AdminConfig } from './options.js';

/** How long chat-admin tries to reach the bus, and then to hand it the message. */
const BUS_WAIT_MS = 2000;

/**
 * With --bus: tells the instance holding `session` at once to end it (the
 * request is in the database already, which stays the record; without the
 * bus, or when it cannot be reached, the server finds it there within its
 * --admin-poll). A bus that cannot be reached is a warning, not a failure.
 */
export async function signalSessionEnd(config: AdminConfig, session: SessionRow | undefined, kind: SessionEndKind, note: string | null, stderr: TextSink): Promise<void> {
  if (config.bus === '' || session === undefined) return;
  // Loaded only here: every other verb starts without the Redis client.
  const { RedisBus } = await import('../bus/redis-bus.js');
  const bus = new RedisBus({ url: config.bus, keyPrefix: config.busPrefix, instanceId: `chat-admin-${randomUUID()}`, startTimeoutMs: BUS_WAIT_MS, closeTimeoutMs: BUS_WAIT_MS });
  try {
    await bus.start();
  } catch (error) {
    stderr.write(`chat-admin: warning: ${error instanceof Error ? error.message : String(error)}; the server finds the request in the database instead (within its --admin-poll)\n`);
    return;
  }
  bus.publish({ type: 'end_session', username: session.username, sessionId: session.id, kind, ...(note === null ? {} : { note }) }, { to: session.instance_id });
  await bus.close();
  if (bus.stats().buffered > 0) stderr.write(`chat-admin: warning: the bus did not take the message within ${BUS_WAIT_MS} ms; the server finds the request in the database instead (within its --admin-poll)\n`);
}
