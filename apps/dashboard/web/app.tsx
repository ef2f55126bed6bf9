/**
 * The app: asks the server who the token belongs to (or whether the API is
 * open), shows the login screen until it knows, then the page of the URL's
 * hash (route.ts).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, session, type WhoAmI } from './api';
import { Login } from './pages/login';
import { Overview } from './pages/overview';
import { ServicePage } from './pages/service';
import { Services } from './pages/services';
import { useRoute } from './route';

export function App() {
  const [me, setMe] = useState<WhoAmI | undefined>(undefined);
  const [checking, setChecking] = useState(true);
  const [message, setMessage] = useState('');
  const route = useRoute();

  const check = async (): Promise<boolean> => {
    try {
      setMe(await api<WhoAmI>('/ui/api/whoami'));
      setMessage('');
      return true;
    } catch (err) {
      setMe(undefined);
      if (err instanceof ApiError && err.code === 403) setMessage(`${err.message}`);
      else if (!(err instanceof ApiError && err.code === 401)) setMessage(`The federation API did not answer: ${(err as Error).message}`);
      return false;
    } finally {
      setChecking(false);
    }
  };

  useEffect(() => {
    void check();
    return session.onEnd((m) => {
      setMe(undefined);
      setMessage(m);
    });
  }, []);

  if (checking) return <div class="loading">Connecting…</div>;
  if (!me)
    return (
      <Login
        message={message}
        onToken={async (token) => {
          session.set(token);
          const ok = await check();
          if (!ok) {
            session.set('');
            setMessage((m) => m || 'The token was not accepted (401 Unauthorized).');
          }
        }}
      />
    );

  return (
    <div class="shell">
      <header>
        <a class="brand" href="#/">
          fedns <span>{me.federation}</span>
        </a>
        <nav>
          <a href="#/" class={route.page === 'overview' ? 'active' : ''}>
            Overview
          </a>
          <a href="#/services" class={route.page !== 'overview' ? 'active' : ''}>
            Services
          </a>
        </nav>
        <div class="who">
          <span title={me.groups.join(', ')}>
            {me.user}
            {me.canWrite ? '' : ' (read-only)'}
          </span>
          {me.authenticated && (
            <button type="button" onClick={() => session.end('Logged out.')}>
              Log out
            </button>
          )}
        </div>
      </header>
      <main>
        {route.page === 'overview' && <Overview me={me} />}
        {route.page === 'services' && <Services query={route.query} />}
        {route.page === 'service' && <ServicePage me={me} namespace={route.namespace} name={route.name} />}
      </main>
    </div>
  );
}
