import { describe, expect, it } from 'vitest';
import { assertFreshBuild, runCli } from '../helpers/run-cli.js';

/**
 * Every usage error of the three programs looks the same: one line on
 * stderr, the program's name first, nothing on stdout, exit status 2.
 */
const CASES: ReadonlyArray<readonly [program: string, args: readonly string[], message: RegExp]> = [
  ['chat-server', ['--prot', '1'], /^unknown option '--prot' \(did you mean --port\?\)$/],
  ['chat-server', ['12346'], /^unexpected argument '12346' \(did you mean --port 12346\?\)$/],
  ['chat-server', ['--port'], /^option '--port <port>' argument missing$/],
  ['chat-server', ['--heartbeat', '1x'], /^invalid configuration: --heartbeat "1x" must be a duration: a number with ms, s, m, h or d.*a bare number means seconds/],
  ['chat-server', ['--sendq', '10'], /^invalid configuration: --sendq "10" must be at least 1KiB/],
  ['chat-admin', ['usr', 'list'], /^unknown command 'usr' \(did you mean user\?\)$/],
  ['chat-admin', ['user', 'list', '--jsn'], /^unknown option '--jsn' \(did you mean --json\?\)$/],
  ['chat-admin', ['user', 'add'], /^missing required argument 'name'$/],
  ['chat-admin', ['--busy-timeout', '1x', 'user', 'list'], /^invalid configuration: --busy-timeout "1x" must be a duration: .*a bare number means seconds/],
  ['chat-admin', ['audit', '--since', 'yesterday'], /^option '--since <duration>' argument 'yesterday' is invalid\. must be a duration: .*ms, s, m, h or d/],
  ['chat-client', ['--usr', 'shon'], /^unknown option '--usr' \(did you mean --user\?\)$/],
  ['chat-client', ['12346'], /^'12346' is a port, not an address \(did you mean localhost:12346\?\)$/],
  ['chat-client', ['a', 'b'], /^too many arguments/],
  ['chat-client', ['--connect-timeout', 'soon'], /^option '--connect-timeout <duration>' argument 'soon' is invalid\. must be a duration: .*a bare number means seconds/],
];

describe('usage errors: one line, program name first, exit 2, in all three programs', () => {
  assertFreshBuild(['src/server', 'src/admin', 'src/client', 'src/config']);

  it.each(CASES)('%s %j', async (program, args, message) => {
    const result = await runCli(program, args, { env: { CHAT_DB: '/nonexistent/chat.db' } });
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^${program}: [^\\n]+\\n$`));
    expect(result.stderr.slice(program.length + 2).trimEnd()).toMatch(message);
    expect(result.exitCode).toBe(2);
  });

  it.each(['chat-server', 'chat-admin', 'chat-client'])('%s --version and -V print the version', async (program) => {
    for (const flag of ['--version', '-V']) {
      const result = await runCli(program, [flag]);
      expect(result).toMatchObject({ exitCode: 0, stderr: '' });
      expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    }
  });
});
