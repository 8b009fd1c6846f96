import type { Kysely } from 'kysely';
import { HasherBusyError, type PasswordHasher } from '../accounts/hash-pool.js';
import { verifyCredentials, type DummyHashes } from '../accounts/verify-credentials.js';
import type { LoginFailReason } from '../protocol/messages.js';
import { sanitizeForLog } from '../protocol/sanitize.js';
import { appendAudit } from '../store/audit.js';
import type { Database } from '../store/schema.js';
import { claimSession } from '../store/sessions.js';
import { setLastLogin } from '../store/users.js';
import type { Logger } from './log.js';

export interface LoginAttempt {
  username: string;
  password: string;
  peerAddress: string;
  mode: 'text' | 'json';
  sessionId: string;
}

export type LoginVerdict = { ok: true; username: string } | { ok: false; reason: LoginFailReason };

/**
 * Turns a login attempt into a verdict: credentials, then the one-session
 * claim in the database, and an audit row committed before the answer goes
 * out. The wire sees only the generic reasons; the audit keeps the detail.
 */
export class LoginService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly hasher: PasswordHasher,
    private readonly dummies: DummyHashes,
    private readonly instanceId: string,
    private readonly logger: Logger,
    private readonly clock: () => Date,
  ) {}

  async attempt(attempt: LoginAttempt): Promise<LoginVerdict> {
    const shownName = sanitizeForLog(attempt.username, 64);
    const audit = (outcome: 'ok' | 'failed', reason: string | null, username = shownName) =>
      appendAudit(this.db, {
        ts: this.clock().toISOString(),
        event: 'login',
        username,
        outcome,
        reason,
        peer_address: attempt.peerAddress,
        mode: attempt.mode,
        instance_id: this.instanceId,
        session_id: attempt.sessionId,
        duration_ms: null,
        actor: null,
        detail: null,
      });
    const fail = async (reason: LoginFailReason, detail: string): Promise<LoginVerdict> => {
      await audit('failed', detail);
      if (reason !== 'server_busy') this.logger.failedLogin(shownName, attempt.peerAddress);
      return { ok: false, reason };
    };

    let check;
    try {
      check = await verifyCredentials(this.db, this.hasher, this.dummies, attempt.username, attempt.password);
    } catch (error) {
      if (error instanceof HasherBusyError) return fail('server_busy', 'server_busy');
      throw error;
    }
    if (!check.ok) return fail(check.failure === 'disabled' ? 'disabled' : 'invalid_credentials', check.failure);

    const user = check.user;
    const at = this.clock().toISOString();
    const claim = await claimSession(this.db, {
      id: attempt.sessionId,
      user_id: user.id,
      username: user.username,
      username_key: user.username_key,
      instance_id: this.instanceId,
      peer_address: attempt.peerAddress,
      mode: attempt.mode,
      connected_at: at,
      last_activity_at: at,
      end_request: null,
      end_request_note: null,
      end_requested_by: null,
    });
    if (claim === 'already_logged_in') return fail('already_logged_in', 'already_logged_in');
    await setLastLogin(this.db, user.id, at);
    await audit('ok', null, user.username);
    return { ok: true, username: user.username };
  }
}
