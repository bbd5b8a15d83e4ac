import { CliError, ExitCode, exitCodeKind, type ExitCodeValue } from './exit-codes.js';

/** Where the CLI writes; injectable so the program can run in-process in tests. */
export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
}

export const processStreams: Streams = { stdout: process.stdout, stderr: process.stderr };

/**
 * The one place that writes. With `--json`, stdout carries exactly one JSON document per command
 * (one per line for `watch`) and nothing else; notes are left out and errors go to stderr (and, as
 * a JSON error document, to stdout).
 */
export class Output {
  constructor(
    readonly json: boolean,
    readonly streams: Streams = processStreams,
  ) {}

  /** The command's result: `human()` text in human mode, `value` as JSON in --json mode. */
  result(value: unknown, human: () => string): void {
    if (this.json) this.streams.stdout.write(JSON.stringify(value, jsonReplacer) + '\n');
    else {
      const text = human();
      if (text) this.streams.stdout.write(text.endsWith('\n') ? text : text + '\n');
    }
  }

  /** One JSON line (watch --json). */
  jsonLine(value: unknown): void {
    this.streams.stdout.write(JSON.stringify(value, jsonReplacer) + '\n');
  }

  /** Human text that is not the result (progress notes, hints): stdout, left out with --json. */
  note(text: string): void {
    if (this.json) return;
    this.streams.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** A diagnostic: always stderr. */
  warn(text: string): void {
    this.streams.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Reports a failure; returns the exit code. */
  error(err: CliError): ExitCodeValue {
    this.streams.stderr.write(`migrate: ${err.message}\n`);
    if (this.json) {
      const error: Record<string, unknown> = {
        kind: exitCodeKind[err.exitCode],
        exitCode: err.exitCode,
        message: err.message,
      };
      if (err.details !== undefined) error.details = err.details;
      this.streams.stdout.write(JSON.stringify({ ok: false, error }, jsonReplacer) + '\n');
    }
    return err.exitCode;
  }
}

/** JSON for values Temporal hands back: bigints as strings, Dates as ISO strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export { ExitCode };
