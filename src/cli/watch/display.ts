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

/** What each cli-progress bar carries: a text row or a bar row of the frame. */
type Payload = { text: string } | { label: string; detail: string };

function payloadOf(row: LiveRow): Payload {
  return row.kind === 'text' ? { text: row.text } : { label: row.label, detail: row.detail };
}

/** One format for every row, so a row can turn from text into a bar without recreating it. */
const formatRow: cliProgress.GenericFormatter = (options, params, payload: Payload) => {
  if ('text' in payload) return payload.text;
  const pct = `${Math.floor(params.progress * 100)}%`.padStart(4);
  return `${payload.label} ${cliProgress.Format.BarFormat(params.progress, options)} ${pct} ${payload.detail}`;
};

/**
 * TTY display on cli-progress: one MultiBar whose rows are real bars (phase, read percent, one per
 * table) and text rows (lag, repair counters, ...) redrawn in place.
 */
export class ProgressDisplay implements LiveDisplay {
  private readonly multibar: cliProgress.MultiBar;
  private readonly bars: cliProgress.SingleBar[] = [];
  private stopped = false;

  constructor(stream: NodeJS.WritableStream) {
    this.multibar = new cliProgress.MultiBar(
      {
        stream: stream as NodeJS.WritableStream & { isTTY: boolean },
        format: formatRow,
        clearOnComplete: false,
        hideCursor: true,
        gracefulExit: false,
        barsize: 30,
        linewrap: false,
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  show(frame: LiveFrame): void {
    // Rows keep their position; the frame grows or shrinks at the end (cli-progress clears the rest).
    while (this.bars.length > frame.rows.length) {
      const bar = this.bars.pop();
      if (bar) this.multibar.remove(bar);
    }
    frame.rows.forEach((row, i) => {
      const total = row.kind === 'bar' ? Math.max(row.total, 1) : 1;
      const value = row.kind === 'bar' ? row.value : 0;
      const bar = this.bars[i];
      if (!bar) {
        this.bars.push(this.multibar.create(total, value, payloadOf(row)));
      } else {
        bar.setTotal(total);
        bar.update(value, payloadOf(row));
      }
    });
  }

  message(text: string): void {
    this.multibar.log(text.endsWith('\n') ? text : `${text}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
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
