/**
 * Where the page is: the URL's hash — `#/` overview, `#/services?q=…&state=…`
 * the list, `#/services/NS/NAME` one service. The hash holds only where you
 * are, never the token.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'overview' } | { page: 'services'; query: URLSearchParams } | { page: 'service'; namespace: string; name: string };

export function parseRoute(hash: string): Route {
  const [path = '', q = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'services' && parts.length === 3) return { page: 'service', namespace: parts[1] as string, name: parts[2] as string };
  if (parts[0] === 'services') return { page: 'services', query: new URLSearchParams(q) };
  return { page: 'overview' };
}

/** The route now: read from the location, not from the last render, which may lag behind a click. */
export const currentRoute = (): Route => parseRoute(window.location.hash);

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
