/** A small coloured label: a condition (True/False/Unknown) or a service state. */
const TONE: Record<string, string> = {
  True: 'good',
  False: 'bad',
  Unknown: 'muted',
  HealthyShards: 'good',
  FailOpen: 'warn',
  FailClosed: 'bad',
  WaitingForClusters: 'muted',
  healthy: 'good',
  unhealthy: 'bad',
  drained: 'warn',
};

export function Badge({ label, value, tone }: { label?: string; value: string; tone?: string }) {
  return (
    <span class={`badge ${tone ?? TONE[value] ?? 'muted'}`} title={label ? `${label}: ${value}` : value}>
      {label ? `${label} ` : ''}
      <b>{value}</b>
    </span>
  );
}
