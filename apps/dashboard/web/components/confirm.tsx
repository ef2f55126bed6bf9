/** A confirmation dialog (the native <dialog>, modal): what will happen, Cancel or the action. */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmRequest {
  title: string;
  body: string;
  action: string;
  run: () => Promise<void>;
}

export function Confirm({ request, onClose }: { request: ConfirmRequest | undefined; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (request && !d.open) {
      setError('');
      d.showModal();
    } else if (!request && d.open) d.close();
  }, [request]);
  const confirm = async () => {
    if (!request) return;
    setBusy(true);
    try {
      await request.run();
      onClose();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} class="confirm" onClose={onClose}>
      <h2>{request?.title}</h2>
      <p>{request?.body}</p>
      {error && <p class="error">{error}</p>}
      <div class="actions">
        <button type="button" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={confirm} disabled={busy} data-test="confirm">
          {busy ? 'Working…' : request?.action}
        </button>
      </div>
    </dialog>
  );
}
