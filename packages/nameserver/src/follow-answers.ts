/**
 * Keeps a ClusterView equal to the store's in-cluster answers (issue 12): one snapshot, then the
 * changes after its sequence as the store's change feed announces them (a safety-net poll
 * besides); a sequence the store no longer knows reloads the snapshot. When the store cannot be
 * read the view keeps answering what it had, like the zone (static stability).
 */
import { oneAtATime, type Store } from '@fedns/store';
import type { ClusterView } from './cluster-view.js';

export interface FollowAnswersOptions {
  logger?: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void };
  /** Look anyway this often (ms). Default 1000. */
  resyncMs?: number;
}

export interface AnswersFollower {
  catchUp(): Promise<void>;
  readonly loaded: Promise<void>;
  stop(): void;
}

export function followClusterView(store: Store, view: ClusterView, opts: FollowAnswersOptions = {}): AnswersFollower {
  let loadedOnce = false;
  let stopped = false;

  const reload = async () => {
    const snap = await store.clusterAnswersSnapshot();
    view.replaceAll(snap.seq, snap.answers);
    if (!loadedOnce) opts.logger?.info({ seq: snap.seq, answers: snap.answers.length }, 'in-cluster answers loaded');
    loadedOnce = true;
  };

  const step = async () => {
    if (!loadedOnce) return reload();
    const changes = await store.clusterAnswersSince(view.seq);
    if (changes === 'compacted') return reload();
    if (changes.seq === view.seq) return;
    view.apply(changes.seq, changes.upserts, changes.deletes);
  };

  const catchUp = oneAtATime(step, () => stopped, (err) => opts.logger?.warn({ err: String(err) }, 'cannot read the in-cluster answers; serving the last good ones'));

  const unwatch = store.watch((c) => {
    if (c.what === 'clusterAnswers' && c.seq !== view.seq) void catchUp();
  });
  const timer = setInterval(() => void catchUp(), opts.resyncMs ?? 1000);
  timer.unref();
  return {
    catchUp,
    loaded: catchUp(),
    stop() {
      stopped = true;
      clearInterval(timer);
      unwatch();
    },
  };
}
