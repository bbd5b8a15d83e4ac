/**
 * The demo application as a process of its own (as an application fleet runs): node --import tsx
 * scripts/demo/app-process.ts, configured by DEMO_APP_CONFIG (JSON AppConfig). It reports its stats
 * every second over IPC and, on a "stop" message, stops writing and sends its report (ledger included).
 */
import { runApp, type AppConfig } from './app.js';

export type AppMessage =
  | { type: 'stats'; stats: ReturnType<ReturnType<typeof runApp>['stats']> }
  | { type: 'report'; report: Awaited<ReturnType<ReturnType<typeof runApp>['stop']>> };

const send = (m: AppMessage, then?: () => void) => process.send?.(m, undefined, {}, () => then?.());
const config = JSON.parse(process.env.DEMO_APP_CONFIG ?? '') as AppConfig;
const app = runApp(config);
const timer = setInterval(() => send({ type: 'stats', stats: app.stats() }), 1000);
send({ type: 'stats', stats: app.stats() });
process.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  // (disconnect only once the report is out: a large message is still being written after send())
  void app.stop().then((report) => send({ type: 'report', report }, () => process.disconnect?.()));
});
// The demo (our parent) died: stop too.
process.on('disconnect', () => process.exit(0));
