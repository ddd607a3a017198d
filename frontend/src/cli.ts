// mtr-ts: options -> engine -> outputs. Composition only: the engine probes every target of the run over
// one packet process, the chosen output consumes its events, and this is the one place that writes to
// stdout and stderr.

import { hostname } from 'node:os';
import { MtrPacket } from '@mtr-ts/client';
import { helpText, parseOptions, PROGRAM, UsageError, VERSION, versionText, type Config } from './options.js';
import { NameResolver } from './resolver.js';
import { assessTrust, currentCredentials, ourPacketProgram, packetCommand, readTargetsFile } from './trust.js';
import { NO_NAMES, type RenderOptions } from './render/model.js';
import { createEngine } from './engine/engine.js';
import { systemClock } from './engine/clock.js';
import type { TargetOptions } from './engine/types.js';
import type { TargetRef } from './stats/types.js';
import { lookupTarget, localAddressFor } from './targets.js';
import { OUTPUTS, STREAMING_MODES, mtrSnapshot, type OutputContext } from './outputs/index.js';
import { FINAL_RENDERERS } from './outputs/final.js';
import { liveWanted } from './tty/wanted.js';
import { SwitchableNames } from './tty/names.js';
import { wireDiagnosis } from './diagnose/wire.js';

/** Our packet program by absolute path (its launcher where built): see trust.ts. */
export const DEFAULT_PACKET_PATH = ourPacketProgram();

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly errIsTty: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly isRoot: boolean;
  /** registers a Ctrl-C handler; returns an unregister function */
  onInterrupt(handler: () => void): () => void;
  /** bytes written to stdout and not yet taken by its reader (0 when unknown) */
  outBacklog?(): number;
}

function processIo(): Io {
  let broken = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      broken = true;
      process.exit(0); // a reader that went away: exit quietly
    }
  });
  return {
    out: (t) => {
      if (!broken) process.stdout.write(t);
    },
    err: (t) => process.stderr.write(t),
    errIsTty: process.stderr.isTTY === true,
    env: process.env,
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    onInterrupt: (h) => {
      process.on('SIGINT', h);
      return () => process.off('SIGINT', h);
    },
    outBacklog: () => process.stdout.writableLength,
  };
}

const lines = (ls: readonly string[]): string => (ls.length === 0 ? '' : ls.join('\n') + '\n');

/** The per-target options a command line gives. */
export function targetOptionsOf(cfg: Config): Partial<TargetOptions> {
  return {
    family: cfg.af,
    protocol: cfg.protocol,
    port: cfg.port,
    localPort: cfg.localPort,
    localAddress: cfg.address,
    interfaceName: cfg.interfaceName,
    psize: cfg.psize,
    bitpattern: cfg.bitpattern,
    tos: cfg.tos,
    mark: cfg.mark,
    timeout: cfg.timeout,
    interval: cfg.interval,
    gracetime: cfg.gracetime,
    cycles: cfg.cycles,
    firstTtl: cfg.firstTtl,
    maxTtl: cfg.maxTtl,
    maxUnknown: cfg.maxUnknown,
    windowSize: cfg.window,
    ...(cfg.flows === undefined ? {} : { flows: cfg.flows }),
  };
}

/** Runs mtr-ts; resolves with the exit status. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const say = (msg: string): void => io.err(`${PROGRAM}: ${msg}\n`);
  let cfg: Config;
  const trust = assessTrust(currentCredentials(io.env));
  try {
    cfg = parseOptions(argv, io.env['MTR_OPTIONS'], {
      isRoot: io.isRoot,
      readFile: (p) => readTargetsFile(trust, p),
    });
  } catch (e) {
    if (e instanceof UsageError) {
      say(e.message);
      io.err(`Try '${PROGRAM} --help' for more information.\n`);
      return 1;
    }
    throw e;
  }
  if (cfg.help) {
    io.out(helpText() + '\n');
    return 0;
  }
  if (cfg.version) {
    io.out(versionText() + '\n');
    return 0;
  }
  // --diagnose and --html ask for a report (the live view shows its own diagnosis line, tty/diagnosis.ts)
  const defaulted = cfg.defaultedMode && !cfg.diagnose && cfg.html === undefined;
  const live = liveWanted(defaulted, io.env);
  if (defaulted && !live && io.errIsTty) say('stdout is not a terminal: running in report mode (-r)');

  const packet = packetCommand(trust);
  const render: RenderOptions = { order: cfg.order, wide: cfg.mode === 'wide', dns: cfg.dns, showIps: cfg.showIps, ipinfo: cfg.ipinfo, mpls: cfg.mpls };
  // the live view's names follow its n / y / z keys (tty/names.ts)
  const names = live
    ? new SwitchableNames({ dns: cfg.dns, ipinfo: cfg.ipinfo, server: io.env['MTR_TS_DNS_SERVER'] })
    : cfg.dns || cfg.ipinfo !== undefined
      ? new NameResolver({ dns: cfg.dns, ipinfo: cfg.ipinfo, server: io.env['MTR_TS_DNS_SERVER'] })
      : undefined;
  const engine = createEngine({
    // exactly trust.ts's program and environment: allowEnvironment false so nothing falls back to
    // MTR_PACKET; closeWaitMs 0: SIGTERM right after ending stdin, as mtr does
    connect: () => MtrPacket.spawn({ command: packet.path, env: packet.env, allowEnvironment: false, closeWaitMs: 0 }),
    lookup: lookupTarget,
    localAddress: localAddressFor,
    names,
    defaults: targetOptionsOf(cfg),
    // the diagnosis reads the ICMP type/code, MTU and reply TTL of mtr-packet-ts's icmp-detail extension,
    // and --confirm sends don't-fragment probes; mtr 0.95's mtr-packet answers `no` and is used without them
    ...(cfg.diagnose || cfg.html !== undefined || cfg.confirm
      ? { extensions: ['icmp-detail', ...(cfg.confirm ? ['dont-fragment'] : [])] }
      : {}),
  });
  if (live) {
    // the live view (tty/run.ts): first target, until q; the report is left in the scrollback
    const { runLive } = await import('./tty/run.js');
    try {
      return await runLive({
        cfg,
        engine,
        localHostname: hostname(),
        report: (id, view) => {
          const s = engine.snapshot(id);
          return s?.startTime === undefined ? [] : FINAL_RENDERERS.report(mtrSnapshot(s, hostname()), names ?? NO_NAMES, { ...render, ...view });
        },
        say,
        out: io.out,
        isRoot: io.isRoot,
        env: io.env,
        version: `${PROGRAM} ${VERSION}`,
      });
    } finally {
      names?.close();
    }
  }
  const outputContext: OutputContext = {
    cfg,
    render,
    engine,
    names: names ?? NO_NAMES,
    localHostname: hostname(),
    write: io.out,
    backlog: () => io.outBacklog?.() ?? 0,
    warn: say,
    now: systemClock.now,
  };
  const diagnosis = wireDiagnosis(outputContext);
  const output = diagnosis?.wrap(OUTPUTS[cfg.mode](diagnosis.context)) ?? OUTPUTS[cfg.mode](outputContext);
  const progress = io.errIsTty && !STREAMING_MODES.has(cfg.mode);

  let status = 0;
  /** the first error that ends the run (mtr exits on these): printed once, nothing after it */
  let fatal = false;
  let interrupted = false;
  engine.subscribe((e) => {
    if (fatal) return;
    output.onEvent?.(e); // every event up to and including the one that ends the run
    switch (e.type) {
      case 'error':
        if (e.stage === 'resolve') {
          say(e.message); // the other targets go on
          status = 1;
          return;
        }
        fatal = true;
        if (io.errIsTty) io.err('\r\x1b[K');
        say(e.message);
        void engine.stop();
        return;
      case 'warning':
        say(e.message);
        return;
      case 'cycle-done':
        if (progress) io.err(`\r\x1b[K${PROGRAM}: ${e.target.name}: cycle ${e.cycle}/${e.of ?? '-'}`);
        return;
      default:
        return;
    }
  });
  const unhook = io.onInterrupt(() => {
    if (interrupted) process.exit(130); // a second Ctrl-C does not wait for anything
    interrupted = true;
    void engine.stop();
  });

  /** waits for a target, then prints its document (when the output has one) */
  const finish = async (t: TargetRef): Promise<void> => {
    await engine.settled([t.id]);
    if (fatal) return;
    if (progress) io.err('\r\x1b[K');
    const s = engine.snapshot(t.id);
    if (output.final === undefined || s === undefined || s.startTime === undefined) return;
    if (s.status !== 'done' && s.status !== 'stopped') return;
    if (!interrupted) await output.settle?.(s);
    await names?.settle(interrupted ? 300 : 2000);
    io.out(lines(output.final(s)));
  };

  try {
    if (STREAMING_MODES.has(cfg.mode)) {
      // their lines carry no target: one target after another, as mtr does
      for (const name of cfg.targets) {
        if (interrupted || fatal) break;
        await finish(engine.add(name));
      }
    } else {
      const all = cfg.targets.map((name) => engine.add(name));
      for (const t of all) {
        await finish(t);
        if (fatal) break;
      }
    }
  } finally {
    unhook();
    await engine.stop();
    output.close?.(fatal ? 'failed' : interrupted ? 'interrupted' : 'completed');
    names?.close();
  }
  if (fatal) return 1;
  return interrupted ? 130 : status;
}
/** Waits (at most `ms`) until stdout has handed everything to its reader. */
function stdoutFlushed(ms: number): Promise<void> {
  if (process.stdout.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    process.stdout.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Entry point used by bin/mtr-ts.js. */
export function run(): void {
  main(process.argv.slice(2)).then(
    async (code) => {
      process.exitCode = code;
      // a slow reader gets a moment to take what is written; nothing else is waited for
      await stdoutFlushed(2000);
      setImmediate(() => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`${PROGRAM}: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
