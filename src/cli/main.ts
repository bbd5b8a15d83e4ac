#!/usr/bin/env node
/** `migrate` (npm run migrate -- <command>): the operator CLI. See src/cli/README.md. */
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
