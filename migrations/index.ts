import type { Migration } from 'kysely';
import * as initial from './20261125T0001_initial.js';
import * as loginThrottles from './20261126T0001_login_throttles.js';
import * as resumeTokens from './20261201T0001_resume_tokens.js';
import * as history from './20261201T0002_history.js';
import * as instanceCounts from './20261201T0003_instance_counts.js';
import * as historyWithoutUserIndex from './20261201T0004_history_without_user_index.js';
import * as auditDurationBigint from './20261201T0005_audit_duration_bigint.js';

/**
 * Every migration, by name. Names sort in the order they run; a new migration
 * is a new file here and a new line below, never an edit of an old one.
 */
export const migrations: Record<string, Migration> = {
  '20261125T0001_initial': initial,
  '20261126T0001_login_throttles': loginThrottles,
  '20261201T0001_resume_tokens': resumeTokens,
  '20261201T0002_history': history,
  '20261201T0003_instance_counts': instanceCounts,
  '20261201T0004_history_without_user_index': historyWithoutUserIndex,
  '20261201T0005_audit_duration_bigint': auditDurationBigint,
};
