import cliProgress from 'cli-progress';
import { renderFrameText, type LiveFrame, type LiveRow } from '../render/live-view.js';
import type { Streams } from '../output.js';

/** Draws successive live frames. */
export interface LiveDisplay {
  show(frame: LiveFrame): void;
  /** A one-off message line (e.g. "waiting for a worker"), drawn without breaking the bars. */
  message(text: string): void;
  /** Leaves the last frame on screen. */
  stop(): void;
}

const BAR_FORMAT = '{label} {bar} {percentage}% {detail}';
const TEXT_FORMAT = '{text}';

type Payload = { text: string } | { label: string; detail: string };

function payloadOf(row: LiveRow): Payload {
  return row.kind === 'text' ? { text: row.text } : { label: row.label, detail: row.detail };
}

/**
 * TTY display on cli-progress: one MultiBar whose rows are real bars (phase, read percent, one per
 * table) and text rows (lag, repair counters, ...) redrawn in place.
 */
export class ProgressDisplay implements LiveDisplay {
  private readonly multibar: cliProgress.MultiBar;
  private rows: { key: string; kind: LiveRow['kind']; bar: cliProgress.SingleBar }[] = [];

  constructor(stream: NodeJS.WritableStream) {
    this.multibar = new cliProgress.MultiBar(
      {
        stream: stream as NodeJS.WritableStream & { isTTY: boolean },
        clearOnComplete: false,
        hideCursor: true,
        gracefulExit: false,
        autopadding: true,
        barsize: 30,
        linewrap: false,
        forceRedraw: true,
        emptyOnZero: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  show(frame: LiveFrame): void {
    const sameLayout =
      this.rows.length === frame.rows.length &&
      this.rows.every((r, i) => r.key === frame.rows[i].key && r.kind === frame.rows[i].kind);
    if (!sameLayout) {
      for (const r of this.rows) this.multibar.remove(r.bar);
      this.rows = frame.rows.map((row) => ({
        key: row.key,
        kind: row.kind,
        bar:
          row.kind === 'text'
            ? this.multibar.create(1, 0, payloadOf(row), { format: TEXT_FORMAT })
            : this.multibar.create(row.total, row.value, payloadOf(row), { format: BAR_FORMAT }),
      }));
    }
    frame.rows.forEach((row, i) => {
      const { bar } = this.rows[i];
      if (row.kind === 'bar') {
        bar.setTotal(row.total);
        bar.update(row.value, payloadOf(row));
      } else {
        bar.update(0, payloadOf(row));
      }
    });
  }

  message(text: string): void {
    this.multibar.log(text.endsWith('\n') ? text : `${text}\n`);
  }

  stop(): void {
    this.multibar.stop();
  }
}

/** Non-TTY display (logs, pipes): prints the frame as plain text whenever it changes. */
export class TextDisplay implements LiveDisplay {
  private last = '';
  constructor(private readonly stream: NodeJS.WritableStream) {}

  show(frame: LiveFrame): void {
    const text = renderFrameText(frame);
    if (text === this.last) return;
    this.last = text;
    this.stream.write(`${text}\n\n`);
  }

  message(text: string): void {
    this.stream.write(`${text}\n`);
  }

  stop(): void {}
}

export function createDisplay(streams: Streams): LiveDisplay {
  return streams.stdout.isTTY ? new ProgressDisplay(streams.stdout) : new TextDisplay(streams.stdout);
}
