/**
 * `step` run one at a time: asked again while it runs, it runs once more
 * afterwards (never twice at once, never a request lost); a failure is
 * reported and the next request tries again. How every follower of the store
 * (object log, zone journal, in-cluster answers) turns wake-ups into reads.
 */
export function oneAtATime(step: () => Promise<void>, stopped: () => boolean, onError: (err: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (stopped()) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await step();
        } catch (err) {
          onError(err);
        }
      } while (again && !stopped());
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
}
