import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, SERVER_OPTIONS, buildServerConfig, type ServerConfig } from '../../src/server/config.js';

/** Node clamps any timer delay above this to 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function problemsOf(cli: Record<string, string | undefined>, env: Record<string, string | undefined> = {}): readonly string[] {
  try {
    buildServerConfig(cli, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

function valueOf(key: keyof ServerConfig, flag: string, raw: string): number | string {
  return buildServerConfig({ [flag]: raw }, {})[key];
}

describe('buildServerConfig: the bus', () => {
  it('takes a redis:// or rediss:// URL from the flag or CHAT_BUS, and a key prefix', () => {
    expect(buildServerConfig({ bus: 'redis://10.0.0.5:6379/2' }, {}).bus).toBe('redis://10.0.0.5:6379/2');
    expect(buildServerConfig({}, { CHAT_BUS: 'rediss://user:pw@bus.internal' }).bus).toBe('rediss://user:pw@bus.internal');
    expect(buildServerConfig({ 'bus-prefix': 'test-1:' }, { CHAT_BUS_PREFIX: 'other:' }).busPrefix).toBe('test-1:');
  });

  it('names the option and an example in its problem', () => {
    expect(problemsOf({}, { CHAT_BUS: 'bus.internal:6379' })).toEqual(['CHAT_BUS "bus.internal:6379" must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379']);
  });
});

describe('buildServerConfig: defaults', () => {
  it('with nothing given, every default', () => {
    expect(buildServerConfig({}, {})).toEqual({
      host: '0.0.0.0',
      port: 12345,
      dbFile: './chat.db',
      dbPoolSize: 10,
      busyTimeoutMs: 5000,
      bcryptCost: 12,
      bus: '',
      busPrefix: 'chat:',
      maxLineBytes: 4096,
      preLoginMaxLineBytes: 1024,
      maxAttempts: 3,
      loginTimeoutMs: 30_000,
      heartbeatMs: 30_000,
      idleTimeoutMs: 0,
      keepAliveMs: 30_000,
      sendQueueBytes: 1 << 20,
      writeTimeoutMs: 15_000,
      flushWindowMs: 4,
      idleTrimMs: 5000,
      rateLimitPerSecond: 5,
      rateBurst: 10,
      maxConnections: 10_000,
      maxPerAddress: 50,
      maxPreLogin: 256,
      maxPreLoginPerAddress: 8,
      maxPreLoginPerPrefix: 64,
      prefixV4: 24,
      prefixV6: 48,
      loginQueue: Math.min(availableParallelism(), 64) * 16,
      throttleAddressFailures: 10,
      throttleUserFailures: 10,
      throttleWindowMs: 600_000,
      throttlePenaltyMs: 60_000,
      throttleMaxPenaltyMs: 3_600_000,
      throttleMemoryMs: 86_400_000,
      throttleTrustMs: 14 * 86_400_000,
      hashWorkers: Math.min(availableParallelism(), 64),
      adminPollMs: 500,
      shutdownGraceMs: 2000,
      tlsCert: '',
      tlsKey: '',
      tlsSelfSigned: false,
      requireTls: false,
      proxyProtocol: false,
      trustedProxies: '127.0.0.0/8,::1/128',
      throttleExempt: '',
      resumeTtlMs: 86_400_000,
      historyLimit: 50,
      historyRetentionMs: 7 * 86_400_000,
    });
  });

  it('--resume-ttl takes a duration, or 0 / off for resumption off; bounds are stated', () => {
    expect(buildServerConfig({ 'resume-ttl': '2h' }, {}).resumeTtlMs).toBe(7_200_000);
    expect(buildServerConfig({ 'resume-ttl': 'off' }, {}).resumeTtlMs).toBe(0);
    expect(buildServerConfig({}, { CHAT_RESUME_TTL: 'OFF' }).resumeTtlMs).toBe(0);
    expect(buildServerConfig({ 'resume-ttl': '0' }, {}).resumeTtlMs).toBe(0);
    expect(() => buildServerConfig({ 'resume-ttl': '31d' }, {})).toThrow(/--resume-ttl .*at most 30d/);
    expect(() => buildServerConfig({ 'resume-ttl': 'soon' }, {})).toThrow(/--resume-ttl/);
  });

  it('the result is frozen', () => {
    const config = buildServerConfig({}, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('every option has a unique flag and env name', () => {
    expect(new Set(SERVER_OPTIONS.map((o) => o.flag)).size).toBe(SERVER_OPTIONS.length);
    expect(new Set(SERVER_OPTIONS.map((o) => o.env)).size).toBe(SERVER_OPTIONS.length);
    expect(SERVER_OPTIONS.every((o) => o.env.startsWith('CHAT_'))).toBe(true);
  });
});

describe('buildServerConfig: precedence', () => {
  it('flag over environment over default', () => {
    expect(buildServerConfig({ port: '1111' }, { CHAT_PORT: '2222' }).port).toBe(1111);
    expect(buildServerConfig({}, { CHAT_PORT: '2222' }).port).toBe(2222);
    expect(buildServerConfig({}, {}).port).toBe(12345);
  });

  it('an empty environment variable counts as unset', () => {
    expect(buildServerConfig({}, { CHAT_PORT: '' }).port).toBe(12345);
  });

  it('an empty flag value is an error', () => {
    expect(problemsOf({ port: '' })).toHaveLength(1);
    expect(problemsOf({ host: '   ' })).toHaveLength(1);
  });

  it('a bad environment value is reported under its variable name', () => {
    const problems = problemsOf({}, { CHAT_MAX_LINE: 'huge' });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith('CHAT_MAX_LINE ')).toBe(true);
  });

  it('a good flag hides a bad environment value', () => {
    expect(buildServerConfig({ 'max-line': '8192' }, { CHAT_MAX_LINE: 'huge' }).maxLineBytes).toBe(8192);
  });
});

describe('buildServerConfig: parsing', () => {
  it.each<[keyof ServerConfig, string, string, number]>([
    ['loginTimeoutMs', 'login-timeout', '500ms', 500],
    ['loginTimeoutMs', 'login-timeout', '30s', 30_000],
    ['loginTimeoutMs', 'login-timeout', '30', 30_000],
    ['loginTimeoutMs', 'login-timeout', '1.5s', 1500],
    ['loginTimeoutMs', 'login-timeout', '5m', 300_000],
    ['loginTimeoutMs', 'login-timeout', '1h', 3_600_000],
    ['loginTimeoutMs', 'login-timeout', ' 10s ', 10_000],
    ['loginTimeoutMs', 'login-timeout', '0', 0],
    ['heartbeatMs', 'heartbeat', '0', 0],
    ['heartbeatMs', 'heartbeat', '10ms', 10],
    ['idleTimeoutMs', 'idle-timeout', '10m', 600_000],
    ['writeTimeoutMs', 'write-timeout', '0', 0],
    ['flushWindowMs', 'flush-window', '0', 0],
    ['flushWindowMs', 'flush-window', '10ms', 10],
    ['idleTrimMs', 'idle-trim', '0', 0],
    ['idleTrimMs', 'idle-trim', '30s', 30_000],
    ['keepAliveMs', 'keepalive', '0', 0],
    ['keepAliveMs', 'keepalive', '1s', 1000],
    ['shutdownGraceMs', 'shutdown-grace', '0', 0],
    ['shutdownGraceMs', 'shutdown-grace', '4s', 4000],
    ['adminPollMs', 'admin-poll', '50ms', 50],
    ['busyTimeoutMs', 'busy-timeout', '1ms', 1],
    ['maxLineBytes', 'max-line', '4096', 4096],
    ['maxLineBytes', 'max-line', '256', 256],
    ['maxLineBytes', 'max-line', '64KiB', 65_536],
    ['maxLineBytes', 'max-line', '64k', 65_536],
    ['maxLineBytes', 'max-line', '64kb', 65_536],
    ['maxLineBytes', 'max-line', '1MiB', 1 << 20],
    ['sendQueueBytes', 'sendq', '1mb', 1 << 20],
    ['sendQueueBytes', 'sendq', '2M', 2 << 20],
    ['sendQueueBytes', 'sendq', '0', 0],
    ['sendQueueBytes', 'sendq', '1024', 1024],
    ['port', 'port', '0', 0],
    ['port', 'port', '65535', 65535],
    ['bcryptCost', 'bcrypt-cost', '4', 4],
    ['bcryptCost', 'bcrypt-cost', '15', 15],
    ['maxAttempts', 'max-attempts', '1', 1],
    ['maxAttempts', 'max-attempts', '100', 100],
    ['rateLimitPerSecond', 'rate-limit', '0', 0],
    ['rateBurst', 'rate-burst', '1', 1],
    ['maxConnections', 'max-connections', '0', 0],
    ['maxPerAddress', 'max-per-address', '0', 0],
    ['loginQueue', 'login-queue', '0', 0],
    ['hashWorkers', 'hash-workers', '64', 64],
  ])('%s: --%s %j -> %d', (key, flag, raw, expected) => {
    expect(valueOf(key, flag, raw)).toBe(expected);
  });

  it.each([
    ['port', '65536'],
    ['port', '-1'],
    ['port', 'http'],
    ['port', '80.5'],
    ['bcrypt-cost', '3'],
    ['bcrypt-cost', '16'],
    ['max-attempts', '0'],
    ['max-attempts', '101'],
    ['max-attempts', '1.5'],
    ['max-attempts', '1e3'],
    ['rate-burst', '0'],
    ['rate-limit', '-5'],
    ['max-line', '255'],
    ['max-line', '2MiB'],
    ['max-line', '4096 bytes'],
    ['max-line', '1.5k'],
    ['max-login-line', '100'],
    ['sendq', '512'],
    ['login-timeout', '10x'],
    ['login-timeout', '-1s'],
    ['login-timeout', '1 s'],
    ['login-timeout', 'soon'],
    ['heartbeat', '5ms'],
    ['keepalive', '500ms'],
    ['busy-timeout', '0'],
    ['busy-timeout', '2m'],
    ['admin-poll', '10ms'],
    ['admin-poll', '3s'],
    ['shutdown-grace', '5s'],
    ['hash-workers', '0'],
    ['hash-workers', '65'],
    ['max-connections', 'many'],
    ['flush-window', '1s'],
    ['idle-trim', '500ms'],
    ['idle-trim', '2h'],
    ['idle-trim', 'later'],
    ['bus', 'localhost:6379'],
    ['bus', 'http://bus:6379'],
    ['bus', 'redis://'],
    ['bus-prefix', ''],
  ])('--%s %j is refused', (flag, raw) => {
    const problems = problemsOf({ [flag]: raw });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`--${flag} `)).toBe(true);
  });

  it('every bad value is reported at once, in one ConfigError', () => {
    const problems = problemsOf({ port: 'x', 'max-line': '1', 'rate-burst': '0' }, { CHAT_HEARTBEAT: 'soon', CHAT_BCRYPT_COST: '99' });
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['--max-line', '--port', '--rate-burst', 'CHAT_BCRYPT_COST', 'CHAT_HEARTBEAT']);
  });

  it('ConfigError message lists every problem', () => {
    const error = new ConfigError(['a', 'b']);
    expect(error.name).toBe('ConfigError');
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.problems).toEqual(['a', 'b']);
  });

  it('unknown flags are ignored', () => {
    expect(buildServerConfig({ 'no-such-flag': 'x' }, { CHAT_NOPE: 'y' }).port).toBe(12345);
  });
});

describe('buildServerConfig: values that would silently change meaning', () => {
  // These two feed setTimeout/setInterval, and Node turns a delay above 2^31-1 ms into 1 ms: a "1000h" login
  // timeout would end every connection at once, a "1000h" heartbeat would ping every millisecond.
  it.each([
    ['login-timeout', 'loginTimeoutMs'],
    ['heartbeat', 'heartbeatMs'],
  ] as const)('--%s 1000h is refused rather than overflowing a timer', (flag, key) => {
    let outcome: number | string;
    try {
      outcome = valueOf(key, flag, '1000h');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      outcome = 'refused';
    }
    expect(outcome).toBe('refused');
  });

  // "0 disables": a value the user wrote as non-zero must not round to 0 and switch the limit off.
  it.each([
    ['login-timeout', 'loginTimeoutMs', '0.4ms'],
    ['heartbeat', 'heartbeatMs', '0.0001s'],
    ['write-timeout', 'writeTimeoutMs', '0.2ms'],
  ] as const)('--%s (%s) %j does not silently become 0 (off)', (flag, key, raw) => {
    let outcome: number | string;
    try {
      outcome = valueOf(key, flag, raw);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      outcome = 'refused';
    }
    expect(outcome).not.toBe(0);
  });

  it('timers stay below the Node timer limit for every accepted duration default', () => {
    const config = buildServerConfig({}, {});
    for (const key of ['loginTimeoutMs', 'heartbeatMs', 'idleTimeoutMs', 'writeTimeoutMs', 'keepAliveMs', 'adminPollMs', 'shutdownGraceMs'] as const) {
      expect(config[key]).toBeLessThanOrEqual(MAX_TIMER_MS);
    }
  });
});

describe('one grammar with chat-admin', () => {
  it('reads a bare busy timeout as seconds, like chat-admin', () => {
    expect(buildServerConfig({}, { CHAT_BUSY_TIMEOUT: '1' }).busyTimeoutMs).toBe(1000);
    expect(buildServerConfig({}, { CHAT_BUSY_TIMEOUT: '5000ms' }).busyTimeoutMs).toBe(5000);
  });

  it('takes days in every duration: --heartbeat 1d', () => {
    expect(buildServerConfig({ heartbeat: '1d' }, {}).heartbeatMs).toBe(86_400_000);
  });

  it('states the unit of a bound in the error', () => {
    expect(() => buildServerConfig({ 'busy-timeout': '2m' }, {})).toThrow(/--busy-timeout "2m" must be at most 1m/);
    expect(() => buildServerConfig({ sendq: '10' }, {})).toThrow(/--sendq "10" must be at least 1KiB \(or 0 for off\)/);
  });
});
