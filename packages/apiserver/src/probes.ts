/** Shards as explain shows them: with every controller's probe verdicts (issue 14), counted or not. */
import { withProbes } from '@fedns/cascade';
import { policyFromService, probeTargetText } from '@fedns/model';
import type { Store, StoredShard } from '@fedns/store';

export async function shardsWithProbes(store: Store, shards: StoredShard[], service?: { namespace: string; name: string }): Promise<ReturnType<typeof withProbes<StoredShard>>> {
  const verdicts = service ? await store.probeVerdicts(service.namespace, service.name) : await store.probeVerdicts();
  if (verdicts.length === 0) return shards;
  const targets = new Map<string, string | undefined>();
  for (const v of verdicts) {
    const k = `${v.namespace}/${v.service}`;
    if (targets.has(k)) continue;
    const svc = await store.getObject<{ metadata: { annotations?: Record<string, string> } }>('services', v.namespace, v.service);
    const probe = svc && policyFromService({ ...svc.object.metadata, namespace: v.namespace, name: v.service }).probe;
    targets.set(k, probe ? probeTargetText(probe) : undefined);
  }
  return withProbes(shards, verdicts, (ns, name) => targets.get(`${ns}/${name}`));
}
