/** Embedded Temporal dev server: public entry point. */
export { startDevServer, type DevServer, type DevServerOptions } from './server.js';
export type { LogLevel } from './log.js';
