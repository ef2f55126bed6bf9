/** The login screen: a bearer token (the API's --token-auth-file), kept for this tab only. */
import { useState } from 'preact/hooks';

export function Login({ message, onToken }: { message: string; onToken: (token: string) => Promise<void> }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div class="login">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          await onToken(token.trim());
          setBusy(false);
        }}
      >
        <h1>fedns</h1>
        <p>Federated DNS control plane. Log in with a bearer token of the federation API.</p>
        {message && (
          <p class="error" role="alert">
            {message}
          </p>
        )}
        <label>
          Token
          <input type="password" name="token" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} required />
        </label>
        <button type="submit" class="primary" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
        <p class="hint">The token stays in this tab's session storage and goes only in the Authorization header of the API's requests.</p>
      </form>
    </div>
  );
}
