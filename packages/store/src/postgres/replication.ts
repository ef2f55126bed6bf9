/**
 * Whether commits wait for a standby (issue 11: a commit lost in a failover
 * would reuse a serial). The lead warns at start and exports a metric when
 * `synchronous` is false.
 */
import type pg from 'pg';

export interface ReplicationStatus {
  /** `SHOW synchronous_standby_names` ('' when none). */
  synchronousStandbyNames: string;
  /** `SHOW synchronous_commit` as this store's sessions see it. */
  synchronousCommit: string;
  /** Standbys named and commits waiting for them (synchronous_commit on, remote_write or remote_apply). */
  synchronous: boolean;
  /** Whether this server is itself a standby (a read-only follower may be connected to one). */
  inRecovery: boolean;
  /** Standbys in sync or quorum state now; undefined when this role may not see pg_stat_replication's details. */
  syncStandbys: number | undefined;
}

export async function replicationStatus(pool: pg.Pool): Promise<ReplicationStatus> {
  const r = await pool.query(
    `SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS commit,
            pg_is_in_recovery() AS recovery,
            (SELECT count(*) FILTER (WHERE sync_state IN ('sync', 'quorum'))::int FROM pg_stat_replication) AS sync,
            (SELECT count(*) FILTER (WHERE sync_state IS NULL)::int FROM pg_stat_replication) AS hidden`,
  );
  const row = r.rows[0] as { names: string; commit: string; recovery: boolean; sync: number; hidden: number };
  const names = row.names.trim();
  return {
    synchronousStandbyNames: names,
    synchronousCommit: row.commit,
    synchronous: names !== '' && ['on', 'remote_write', 'remote_apply'].includes(row.commit),
    inRecovery: row.recovery,
    syncStandbys: row.hidden > 0 ? undefined : row.sync,
  };
}
