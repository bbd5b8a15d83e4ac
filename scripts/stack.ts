// Starts the local stack (source + target MariaDB, Redis, Temporal) and keeps it up until Ctrl-C.
// Prints the environment a worker, the CLI or an app needs to use it. SIGINT, SIGTERM, SIGHUP to any
// process of `npm run stack` (npm, sh, node), or the death of one of them, stops every server and
// removes the data directories (localstack/lifetime.ts).
import { ensureUiBuilt } from '../packages/devserver-ui/ensure-built.mjs';
import { startStack } from './localstack/index.js';

const withTemporal = !process.argv.includes('--no-temporal');
if (withTemporal) ensureUiBuilt({ quiet: true });
const stack = await startStack({
  temporal: withTemporal,
  temporalPersistent: process.argv.includes('--persistent'),
  tls: process.argv.includes('--tls'),
});
console.log('# local stack is up; export these in another shell:');
for (const [key, value] of Object.entries(stack.env)) console.log(`export ${key}='${value}'`);
console.log(
  `# admin: mariadb -S ${stack.source.socketPath} -u root   /   mariadb -S ${stack.target.socketPath} -u root`,
);
if (stack.temporal?.uiUrl) console.log(`# Temporal Web UI: ${stack.temporal.uiUrl}`);
console.log(`# stack directory: ${stack.dir}`);
console.log('# Ctrl-C (or SIGTERM / SIGHUP) stops everything and removes the data directories');
setInterval(() => {}, 1 << 30);
