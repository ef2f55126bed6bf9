/** The judging rule lives in the cascade (pure traffic policy); the controller's probe parts take it from here. */
export { judgeProbes, PROBE_HEARTBEAT_MS, PROBE_STALE_MS, type ProbeJudgement, verdictCounts } from '@fedns/cascade';
