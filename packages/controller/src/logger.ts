/** The logger shape the controller needs (pino's, or a silent stand-in in tests). */
export interface Logger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
  debug(o: object, m?: string): void;
}

const noop = () => undefined;
export const SILENT: Logger = { info: noop, warn: noop, error: noop, debug: noop };
