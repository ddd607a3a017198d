// mtr-packet-ts: the process. Opens the sockets while privileged, drops privileges, then
// frames stdin into commands for the Daemon and writes its replies to stdout.

import { fstatSync, type Stats } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { setParentDeathSignal } from '@mtr-ts/native';
import { Daemon } from './daemon.js';
import { dialectFromEnv } from './dialect.js';
import { openTransport, type OpenedTransport } from './native-transport.js';
import { OutputWriter } from './output.js';
import type { Received } from './transport.js';
import { PACKAGE_VERSION, parseArgs, USAGE } from './args.js';
import { CommandPump } from './command-pump.js';
import { endOnSignals, endWithParent } from './lifetime.js';
import { WarmUp } from './warm-up.js';

/** bytes read from stdin at a time, as process.stdin reads */
const COMMAND_READ_BYTES = 65536;

function fail(message: string, code = 1): never {
  const text = message.startsWith('mtr-packet-ts: ') ? message : `mtr-packet-ts: ${message}`;
  process.stderr.write(`${text}\n`);
  process.exit(code);
}

/**
 * Node opens its inspector on SIGUSR1; the daemon has no use for one. A listener of our own
 * replaces Node's handler, so the signal does nothing (the launcher's seccomp filter also
 * refuses listen(2), which covers the moment before this line runs).
 */
function ignoreInspectorSignal(): void {
  process.on('SIGUSR1', () => {});
}

/**
 * Where commands come from: stdin. A pipe or a socket (how every client runs us) is read through a
 * socket of our own with an onread buffer: each read goes to `take` in one reused buffer, without
 * the Buffer, the stream's bookkeeping and the 'data' event that process.stdin costs per read.
 * pause() and resume() stop and start its reads as process.stdin's; it still emits 'end' and
 * 'error'. Anything else (a terminal, a file) is process.stdin.
 */
function commandInput(take: (bytes: Uint8Array) => void): NodeJS.ReadableStream {
  let kind: Stats;
  try {
    kind = fstatSync(0);
  } catch {
    return process.stdin;
  }
  if (!kind.isFIFO() && !kind.isSocket()) return process.stdin;
  const buffer = Buffer.allocUnsafe(COMMAND_READ_BYTES);
  return new Socket({
    fd: 0,
    readable: true,
    writable: false,
    allowHalfOpen: true,
    manualStart: true,
    onread: {
      buffer,
      callback: (nread: number, buf: Buffer) => {
        take(buf.subarray(0, nread));
        return true;
      },
    },
  } as SocketConstructorOpts & { manualStart: boolean });
}

function main(): void {
  const parentAtStart = process.ppid;
  ignoreInspectorSignal();
  const parsed = parseArgs(process.argv.slice(2));
  if ('error' in parsed) fail(`${parsed.error} (see mtr-packet-ts --help)`, 2);
  if (parsed.help) {
    process.stdout.write(USAGE);
    return;
  }
  const dialect = dialectFromEnv(process.env);
  if (typeof dialect === 'object') fail(dialect.error, 2);
  if (parsed.version) {
    process.stdout.write(`mtr-packet-ts ${PACKAGE_VERSION} (mtr-packet protocol ${dialect})\n`);
    return;
  }
  const verbose = parsed.verbose;

  let opened: OpenedTransport;
  // Set once the daemon exists; no packet can be delivered before the loop runs anyway.
  let onBatch: (batch: readonly Received[]) => void = () => {};
  try {
    opened = openTransport((batch) => onBatch(batch), parsed.mode);
  } catch (e) {
    fail((e as Error).message);
  }
  const transport = opened.transport;

  // Privileges: nothing after this point needs more than the open sockets.
  let dropNote = '';
  try {
    dropNote = opened.dropPrivileges(parsed.mark);
  } catch (e) {
    fail(`could not drop privileges: ${(e as Error).message}`);
  }

  const out = new OutputWriter(process.stdout, () => shutdown(0));
  const d = new Daemon(transport, (line) => out.line(line), {
    maxInFlight: parsed.maxInFlight,
    protocols: opened.protocols,
    markSupported: opened.canMark(),
    dialect,
  });

  if (verbose) {
    process.stderr.write(
      `mtr-packet-ts: ${opened.describe()}; ${dropNote}; icmp id ${d.icmpId}; at most ${d.probes.maxInFlight} probes in flight\n`,
    );
  }

  // One timer, always for the earliest deadline.
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  const arm = (): void => {
    const deadline = d.nextDeadline();
    if (deadline === undefined) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      timerAt = Infinity;
      return;
    }
    // the timer set fires by then: no clock read (an addon call) needed
    if (timer !== undefined && deadline >= timerAt) return;
    const now = transport.now();
    const waitNs = Math.max(0, deadline - now);
    const at = now + waitNs;
    if (timer !== undefined && at >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    // +1 ms: setTimeout may fire a little early; expire() is exact anyway
    timer = setTimeout(onTimer, Math.ceil(waitNs / 1e6) + 1);
  };
  // Expiry runs in the check phase, after this loop turn's poll phase has read every answer
  // already queued on the sockets: an answer that arrived in time is never called a no-reply.
  const expireNow = (): void => {
    d.expire();
    out.flush();
    arm();
    maybeFinish();
  };
  const onTimer = (): void => {
    timer = undefined;
    timerAt = Infinity;
    setImmediate(expireNow);
  };
  d.onDeadlineChange = arm;
  onBatch = (batch) => {
    d.handlePackets(batch);
    out.flush();
    maybeFinish();
  };

  const warmUp = new WarmUp(setFlagsFromString);
  // Set once the pump exists; the input reads nothing before pump.start().
  let take: (bytes: Uint8Array) => void = () => {};
  const pump = new CommandPump(commandInput((bytes) => take(bytes)), {
    line: (text) => {
      warmUp.command();
      d.handleLine(text);
    },
    overflow: () => d.handleOverflow(),
    afterSlice: () => {
      d.flushSends();
      out.flush();
      arm();
    },
    blocked: () => out.congested,
    ended: () => {
      eof = true;
      maybeFinish();
    },
  });
  take = (bytes) => pump.take(bytes);
  out.onDrain = () => pump.resume();
  let eof = false;

  // Probes answered after EOF still need the loop; the sockets keep it alive until shutdown.
  function maybeFinish(): void {
    if (eof && d.inFlight === 0) shutdown(0);
  }

  let done = false;
  function shutdown(code: number): void {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    out.flush();
    transport.close();
    process.exitCode = code;
    out.end(() => process.exit(code));
  }

  // A signal or the parent's death: abandon what is in flight, close the sockets, go.
  const abandon = (): void => {
    done = true;
    if (timer) clearTimeout(timer);
    transport.close();
  };
  endOnSignals(abandon);
  endWithParent(setParentDeathSignal, parentAtStart, abandon);
  pump.start();
}

main();
