// The event stream: the engine's own NDJSON event shapes (outputs/json-shapes.ts, the schema of
// `mtr-ts --ndjson`: schema_version, type, seq, ts, target, ...) with one key added, `exporter_target`,
// the configuration's name of the target. One JSON object per line to a file or stdout, never blocking
// probing: writes go through an fs.WriteStream (the thread pool does the write(2), not the event loop);
// when the reader falls behind and more than `maxBuffered` bytes wait, lines are dropped and counted
// (mtrts_events_dropped_total).

import { createWriteStream, type WriteStream } from 'node:fs';
import type { EngineEvent } from '../engine/events.js';
import { eventJson, rfc3339, SCHEMA_VERSION, targetJson } from '../outputs/json-shapes.js';
import { verdictJson } from '../diagnose/json.js';
import type { Verdict } from '../diagnose/types.js';
import { NO_NAMES } from '../render/model.js';

/** Which engine events go to the stream: per-probe lines are many (opt-in). */
export function streamed(e: EngineEvent, probes: boolean): boolean {
  switch (e.type) {
    case 'probe-sent':
    case 'probe-answered':
    case 'probe-lost':
      return probes;
    case 'name-resolved':
      return false;
    default:
      return true;
  }
}

/** One line of the stream (without the newline). */
export function formatEvent(e: EngineEvent, exporterTarget: string | undefined): string {
  return JSON.stringify({ ...eventJson(e, NO_NAMES), exporter_target: exporterTarget ?? null });
}

export class EventStream {
  private readonly out: WriteStream;
  dropped = 0;
  private failed = false;

  constructor(
    path: string,
    private readonly probes: boolean,
    private readonly onDrop: () => void,
    private readonly maxBuffered = 1 << 20,
  ) {
    this.out =
      path === '-' ? createWriteStream('', { fd: 1, autoClose: false }) : createWriteStream(path, { flags: 'a' });
    this.out.on('error', (err) => {
      if (!this.failed)
        process.stderr.write(`mtr-ts-exporter: event stream ${path}: ${err.message}; events are dropped from now on\n`);
      this.failed = true;
    });
  }

  write(e: EngineEvent, exporterTarget: string | undefined): void {
    if (!streamed(e, this.probes)) return;
    this.line(() => formatEvent(e, exporterTarget));
  }

  /**
   * The verdicts a judged window raised and cleared, as `mtr-ts --ndjson --diagnose` writes them
   * (diagnosis_raised / diagnosis_cleared), after the cycle_done that led to them (its seq and ts).
   */
  writeVerdicts(
    after: Extract<EngineEvent, { type: 'cycle-done' }>,
    exporterTarget: string,
    raised: readonly Verdict[],
    cleared: readonly Verdict[],
  ): void {
    const head = (kind: string) => ({
      schema_version: SCHEMA_VERSION,
      type: kind,
      seq: after.seq,
      ts: rfc3339(after.ts),
      target: targetJson(after.target),
    });
    for (const v of raised)
      this.line(() =>
        JSON.stringify({ ...head('diagnosis_raised'), verdict: verdictJson(v), exporter_target: exporterTarget }),
      );
    for (const v of cleared)
      this.line(() =>
        JSON.stringify({ ...head('diagnosis_cleared'), verdict: verdictJson(v), exporter_target: exporterTarget }),
      );
  }

  private line(text: () => string): void {
    if (this.failed || this.out.writableLength > this.maxBuffered) {
      this.dropped++;
      this.onDrop();
      return;
    }
    this.out.write(text() + '\n');
  }

  /** Writes what is buffered (bounded by `ms`) and closes the file. */
  close(ms = 2000): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.out.end(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
