import { describe, expect, it } from 'vitest';
import { reconnectDelay, shouldReconnect } from '../../src/client/app.js';

describe('chat-client reconnect rules', () => {
  it('waits the base delay with ±50% jitter', () => {
    expect(reconnectDelay(1000, () => 0)).toBe(500);
    expect(reconnectDelay(1000, () => 0.5)).toBe(1000);
    expect(reconnectDelay(1000, () => 0.999)).toBe(1499);
  });

  it('reconnects after a connection lost without a goodbye, or a server shutting down; never after any other goodbye', () => {
    expect(shouldReconnect({ bye: undefined, error: undefined })).toBe(true);
    expect(shouldReconnect({ bye: undefined, error: new Error('ECONNRESET') })).toBe(true);
    expect(shouldReconnect({ bye: { type: 'bye', reason: 'shutdown' }, error: undefined })).toBe(true);
    for (const reason of ['quit', 'kicked', 'removed', 'disabled', 'replaced', 'timeout', 'flooding', 'slow_consumer', 'too_many_attempts'] as const) {
      expect(shouldReconnect({ bye: { type: 'bye', reason }, error: undefined })).toBe(false);
    }
  });
});
