/** @fedns/dashboard, the server's side: where the built dashboard is (the API server serves it under /ui/). */
import { fileURLToPath } from 'node:url';

/** The folder `vite build` writes (index.html and assets/); absent until the dashboard is built. */
export const dashboardDir = fileURLToPath(new URL('../dist', import.meta.url));
