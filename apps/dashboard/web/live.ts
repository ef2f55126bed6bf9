/**
 * `useLive`: loads what a page shows, and loads it again whenever one of the
 * watched collections changes (debounced: a zone commit touching ten record
 * sets reloads once). Reports whether every watch is connected.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { watch } from './api';

export function useLive<T>(load: () => Promise<T>, watches: string[], deps: unknown[]): { data: T | undefined; error: string; live: boolean; updated: Date | undefined } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [connected, setConnected] = useState(0);
  const [updated, setUpdated] = useState<Date | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let again = false;
    let failures = 0;
    const reload = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const d = await loadRef.current();
          if (cancelled) return;
          setData(d);
          setError('');
          setUpdated(new Date());
          failures = 0;
        } while (again && !cancelled);
      } catch (err) {
        if (!cancelled) {
          setError((err as Error).message);
          // A reload asked for meanwhile is covered by this retry.
          clearTimeout(timer);
          timer = setTimeout(reload, Math.min(15_000, 1000 * 2 ** failures++));
        }
      } finally {
        running = false;
      }
    };
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(reload, 60);
    };
    void reload();
    const stops = watches.map((w) => watch(w, soon, (on) => setConnected((n) => Math.max(0, n + (on ? 1 : -1)))));
    return () => {
      cancelled = true;
      clearTimeout(timer);
      for (const s of stops) s();
      setConnected(0);
    };
  }, deps);
  return { data, error, live: watches.length > 0 && connected >= watches.length, updated };
}
