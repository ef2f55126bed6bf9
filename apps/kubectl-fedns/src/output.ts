/**
 * Output: kubectl-style tables (upper-case headers, columns three spaces
 * apart, cells cut to fit the terminal when stdout is one) and `-o json|yaml`.
 */
import { stringify } from 'yaml';
import type { Output } from './args.js';

/** Cuts `text` to `width` characters, marking the cut with an ellipsis. */
export function cut(text: string, width: number): string {
  return width > 0 && text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
}

/**
 * A table; `width` (the terminal's) cuts the last column so that each line
 * fits. Cells are strings; empty ones print as `-`.
 */
export function table(headers: string[], rows: string[][], width = 0): string {
  const cells = rows.map((r) => headers.map((_h, i) => r[i] || '-'));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] as string).length)));
  const lastStart = widths.slice(0, -1).reduce((a, w) => a + w + 3, 0);
  const render = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? (width > 0 ? cut(c, Math.max(10, width - lastStart)) : c) : c.padEnd(widths[i] as number)))
      .join('   ')
      .trimEnd();
  return [render(headers.map((h) => h.toUpperCase())), ...cells.map(render)].join('\n');
}

/** An object as `-o json` or `-o yaml` prints it. */
export function formatObject(obj: unknown, output: Exclude<Output, undefined>): string {
  return output === 'json' ? JSON.stringify(obj, null, 4) : stringify(obj, { lineWidth: 0 }).trimEnd();
}

/** The terminal's width when stdout is one; 0 (no cutting) when piped. */
export function terminalWidth(): number {
  return process.stdout.isTTY ? (process.stdout.columns ?? 120) : 0;
}
