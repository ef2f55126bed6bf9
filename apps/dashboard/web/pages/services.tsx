/**
 * The services: filtered by a name substring and a state on the server
 * (`/ui/api/services`), 50 a page, with how each global name answers. The
 * filter lives in the URL's hash (`#/services?q=web&state=FailOpen`).
 */
import { useEffect, useState } from 'preact/hooks';
import { SERVICE_STATES } from '@fedns/model/federation-status';
import { api, type ServicePage } from '../api';
import { Badge } from '../components/badge';
import { currentRoute } from '../route';

/** '' is every state. */
const STATES = ['', ...SERVICE_STATES];
const PAGE = 50;

function setFilter(q: string, state: string): void {
  const p = new URLSearchParams();
  if (q) p.set('q', q);
  if (state) p.set('state', state);
  const s = p.toString();
  window.location.replace(`#/services${s ? `?${s}` : ''}`);
}

export function Services({ query }: { query: URLSearchParams }) {
  const q = query.get('q') ?? '';
  const state = query.get('state') ?? '';
  const [text, setText] = useState(q);
  /** Continue tokens of the pages before this one (the first page has none). */
  const [pages, setPages] = useState<string[]>([]);
  const [page, setPage] = useState<ServicePage | undefined>(undefined);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const token = pages.at(-1);

  useEffect(() => setPages([]), [q, state]);
  useEffect(() => {
    // Typing settles into the URL after 250 ms — unless the user has left the list meanwhile (a click on a
    // service right after typing): the hashchange of that click may not have re-rendered us yet.
    const t = setTimeout(() => text !== q && currentRoute().page === 'services' && setFilter(text, state), 250);
    return () => clearTimeout(t);
  }, [text]);
  useEffect(() => {
    let cancelled = false;
    const p = new URLSearchParams({ limit: String(PAGE) });
    if (q) p.set('q', q);
    if (state) p.set('state', state);
    if (token) p.set('continue', token);
    setLoading(true);
    api<ServicePage>(`/ui/api/services?${p}`)
      .then((r) => {
        if (cancelled) return;
        setPage(r);
        setError('');
      })
      .catch((err) => !cancelled && setError((err as Error).message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [q, state, token]);

  const first = pages.length * PAGE + 1;
  return (
    <div class="services">
      <div class="toolbar">
        <input type="search" placeholder="Filter by namespace/name…" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} aria-label="Filter services" />
        <select value={state} onChange={(e) => setFilter(text, (e.target as HTMLSelectElement).value)} aria-label="State">
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s || 'every state'}
            </option>
          ))}
        </select>
        <span class="muted">
          {page ? (page.total ? `${first}–${first + page.items.length - 1} of ${page.total}` : 'no service matches') : ''}
          {loading ? ' …' : ''}
        </span>
        <button type="button" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>
          ‹ Previous
        </button>
        <button type="button" disabled={!page?.continue} onClick={() => page?.continue && setPages([...pages, page.continue])}>
          Next ›
        </button>
      </div>
      {error && <p class="error">{error}</p>}
      <table class="list">
        <thead>
          <tr>
            <th>Service</th>
            <th>Global name answers</th>
            <th>Shards</th>
            <th>Addresses</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((s) => (
            <tr key={`${s.namespace}/${s.name}`} data-service={`${s.namespace}/${s.name}`}>
              <td>
                <a href={`#/services/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`}>
                  <span class="muted">{s.namespace}/</span>
                  {s.name}
                </a>
              </td>
              <td>
                <Badge value={s.state} />
              </td>
              <td class="why">{s.message}</td>
              <td class="mono">{s.ingress.join(', ') || '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
