/** `usePoll`: loads what a page shows every `everyMs` (for what is too large to watch). */
import { useEffect, useRef, useState } from 'preact/hooks';

export function usePoll<T>(load: () => Promise<T>, everyMs: number): { data: T | undefined; updated: Date | undefined } {
  const [state, setState] = useState<{ data: T | undefined; updated: Date | undefined }>({ data: undefined, updated: undefined });
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let cancelled = false;
    const timer = setInterval(async () => {
      try {
        const data = await loadRef.current();
        if (!cancelled) setState({ data, updated: new Date() });
      } catch {
        // the live read shows errors
      }
    }, everyMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [everyMs]);
  return state;
}
