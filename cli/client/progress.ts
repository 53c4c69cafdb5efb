/**
 * Progress of one envelope on stderr (stdout carries only the result, so it can be piped): a bar redrawn
 * in place on a terminal, or one plain line per change elsewhere (CI logs, pipes), never the same twice.
 */
import type { EnvelopeUpdate } from './gateway-client.ts';

export interface ProgressView {
  update(update: EnvelopeUpdate): void;
  /** Leaves the terminal clean for what follows. */
  finish(): void;
}

const BAR_WIDTH = 24;

/** Progress reports arrive out of order across actors, so the message (which names its actor) says more than `actor`. */
function describe(update: EnvelopeUpdate): string {
  return update.message ?? update.envelope_state ?? update.status;
}

export function progressView(stream: NodeJS.WriteStream, label: string): ProgressView {
  return stream.isTTY ? barView(stream, label) : lineView(stream, label);
}

/**
 * The gateway keeps an earlier hop's report that arrives after a later hop's in its history, marked `late`;
 * shown, it would read as a step back ("Processing in sentiment" after "Processing in report"), so the view
 * leaves it out and the hops appear in route order. The percentage never goes down either.
 */
function forwardOnly(show: (percent: number, update: EnvelopeUpdate) => void): (update: EnvelopeUpdate) => void {
  let percent = 0;
  return (update) => {
    if (update.late === true) return;
    percent = Math.max(percent, update.progress_percent ?? percent);
    show(percent, update);
  };
}

function barView(stream: NodeJS.WriteStream, label: string): ProgressView {
  let drawn = false;
  return {
    update: forwardOnly((percent, update) => {
      const filled = Math.round((percent / 100) * BAR_WIDTH);
      const columns = stream.columns ?? 80;
      const line = `${label} ▕${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}▏ ${String(Math.round(percent)).padStart(3)}% ${describe(update)}`;
      stream.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
      drawn = true;
    }),
    finish() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

function lineView(stream: NodeJS.WriteStream, label: string): ProgressView {
  let last = '';
  return {
    update: forwardOnly((percent, update) => {
      const line = `${label}: ${String(Math.round(percent)).padStart(3)}% ${describe(update)}`;
      if (line === last) return;
      last = line;
      stream.write(`${line}\n`);
    }),
    finish() {},
  };
}
