// mtr-ts's full-screen mode, end to end: one target of the engine shown live on the terminal until q,
// Ctrl-C, -c cycles done, or a fatal error; then the terminal is given back and (as mtr head's
// --report-on-exit, here on by default) the report of the last screen is printed, so it stays in the
// scrollback.
//
// Exit status: 0 after q / Ctrl-C (the key) / the cycles done / the end of input; 1 when the packet
// process died or a probe could not be sent (after a one-line message on stderr); 130, 143, 129 for
// SIGINT, SIGTERM, SIGHUP from outside. The terminal is restored on every way out, an uncaught
// exception included.

import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { engineSource, liveSettings, type EngineLike, type RunFacts } from './adapter.js';
import { parseScale } from './chart.js';
import type { SnapshotLike } from '../diagnose/index.js';
import { LiveDiagnoser } from './diagnosis.js';
import { LiveView, type LiveEnd } from './live.js';
import { Terminal, type TtyIn, type TtyOut } from './terminal.js';
import { initialView, type DisplayMode } from './view.js';
import { colourWanted } from './wanted.js';

export { liveWanted, colourWanted } from './wanted.js';

/** What the live view needs from the command line (the engine's Config has these). */
export interface LiveConfig {
  readonly targets: readonly string[];
  readonly order: string;
  readonly dns: boolean;
  readonly showIps: boolean;
  readonly mpls: boolean;
  readonly ipinfo: number | undefined;
  readonly cycles: number;
  /** -c given: quit after that many cycles (mtr's ForceMaxPing); otherwise run until q */
  readonly cyclesGiven?: boolean;
  /** --displaymode */
  readonly displayMode?: number;
  /** --scale */
  readonly scale?: string | undefined;
}

export interface LiveEngine extends EngineLike {
  add(name: string, options?: { cycles?: number | undefined }): { readonly id: number };
  stop(): Promise<void>;
}

export interface LiveRunContext {
  readonly cfg: LiveConfig;
  readonly engine: LiveEngine;
  readonly localHostname: string;
  /** the report of a target (mtr's -r), printed after the terminal is restored, with the view's last choices */
  readonly report: (id: number, view: { dns: boolean; order: string; ipinfo: number | undefined; mpls: boolean }) => string[];
  /** stderr, one line */
  readonly say: (msg: string) => void;
  readonly out: (text: string) => void;
  readonly isRoot: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly version: string;
  readonly stdin?: TtyIn;
  readonly stdout?: TtyOut;
}

/** The source address the kernel picks towards `address` (a UDP connect sends nothing). */
function sourceAddressFor(address: string): Promise<string | undefined> {
  const family = isIP(address);
  if (family === 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    const done = (a: string | undefined): void => {
      try {
        s.close();
      } catch {
        // closed
      }
      resolve(a);
    };
    s.on('error', () => done(undefined));
    s.connect(9, address, () => {
      try {
        done(s.address().address);
      } catch {
        done(undefined);
      }
    });
  });
}

/**
 * V8's budget (bytecode executed) before it considers optimizing a function, for the live view's
 * process: an eighth of the default (66 KB). The view runs for minutes at tens of probes a second,
 * each function of the per-probe path a few times per probe: with the default budget that path stays
 * in baseline code for a minute or more. With this one it is optimized within seconds (CPU of the
 * front-end in its first minute at -i 0.1: about -25 %, README "Live view"). For good only here: the packet
 * process lowers it only for 20 s of a slow session (packet/src/warm-up.ts), since from its start its peak
 * RSS went over its 50 MB target.
 */
export const LIVE_INTERRUPT_BUDGET = 8192;

const SIGNAL_STATUS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type Sig = keyof typeof SIGNAL_STATUS;

export async function runLive(ctx: LiveRunContext): Promise<number> {
  const { cfg, engine } = ctx;
  // before the first probe: read when a function's budget is set (first runs, and after each tier-up)
  setFlagsFromString(`--interrupt-budget=${LIVE_INTERRUPT_BUDGET}`);
  const scale = cfg.scale === undefined ? undefined : parseScale(cfg.scale);
  if (typeof scale === 'string') {
    ctx.say(scale);
    return 1;
  }
  const target = engine.add(cfg.targets[0] ?? 'localhost', { cycles: cfg.cyclesGiven === true ? cfg.cycles : undefined });
  const facts: { localHostname: string; localAddress: string | undefined } = { localHostname: ctx.localHostname, localAddress: undefined };
  const first = engine.snapshot(target.id);
  const terminal = new Terminal(ctx.stdin ?? process.stdin, ctx.stdout ?? process.stdout);
  const mode = cfg.displayMode !== undefined && cfg.displayMode >= 0 && cfg.displayMode <= 3 ? (cfg.displayMode as DisplayMode) : 0;
  // the diagnosis line (v: in full); the engine's snapshot has what the diagnosis reads
  const diagnoser = new LiveDiagnoser(
    target.id,
    () => engine.snapshot(target.id) as SnapshotLike | undefined,
    () => engine.snapshot(target.id)?.options.interval ?? 1,
  );
  const offDiagnosis = engine.subscribe((e) => diagnoser.onEvent(e));
  const live = new LiveView({
    terminal,
    source: engineSource(engine, target.id, (): RunFacts => facts, Date.now, () => diagnoser.state),
    view: initialView({
      mode,
      order: cfg.order,
      dns: cfg.dns,
      showIps: cfg.showIps,
      mpls: cfg.mpls,
      ipinfo: cfg.ipinfo,
      scale,
      isRoot: ctx.isRoot,
      version: ctx.version,
      ...(first !== undefined ? { settings: liveSettings(first) } : {}),
    }),
    color: colourWanted(ctx.env),
    suspend: () => process.kill(process.pid, 'SIGTSTP'),
    onContinue: (fn) => {
      process.on('SIGCONT', fn);
      return () => process.off('SIGCONT', fn);
    },
  });

  let fatal: string | undefined;
  let signalled: Sig | undefined;
  let resolveEnd: ((how: LiveEnd | 'fatal' | 'signal' | 'done') => void) | undefined;
  const ended = new Promise<LiveEnd | 'fatal' | 'signal' | 'done'>((r) => (resolveEnd = r));

  const off = engine.subscribe((e) => {
    const ev = e as { type: string; target?: { id: number; address?: string | undefined }; localAddress?: string; stage?: string; message?: string; reason?: string };
    if (ev.type === 'target-started' && ev.target?.id === target.id) {
      if (ev.localAddress !== undefined) facts.localAddress = ev.localAddress;
      else if (ev.target.address !== undefined)
        void sourceAddressFor(ev.target.address).then((a) => {
          if (facts.localAddress === undefined) facts.localAddress = a;
        });
    } else if (ev.type === 'error' && (ev.target === undefined || ev.target.id === target.id) && ev.stage !== 'listener') {
      fatal ??= ev.message ?? 'error';
      resolveEnd?.('fatal');
    } else if (ev.type === 'target-done' && ev.target?.id === target.id && ev.reason === 'completed') {
      resolveEnd?.('done');
    }
  });

  const restoreNow = (): void => terminal.restore();
  const onSignal = (sig: Sig) => (): void => {
    signalled ??= sig;
    resolveEnd?.('signal');
  };
  const handlers = (Object.keys(SIGNAL_STATUS) as Sig[]).map((sig) => [sig, onSignal(sig)] as const);
  const onCrash = (err: unknown): void => {
    terminal.restore();
    process.stderr.write(`mtr-ts: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  };
  process.on('exit', restoreNow);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  for (const [sig, h] of handlers) process.on(sig, h);

  let how: LiveEnd | 'fatal' | 'signal' | 'done';
  try {
    void live.run().then((h) => resolveEnd?.(h));
    how = await ended;
  } finally {
    live.stop();
    off();
    offDiagnosis();
    for (const [sig, h] of handlers) process.off(sig, h);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    process.off('exit', restoreNow);
  }
  await engine.stop();
  if (how === 'fatal') {
    ctx.say(fatal ?? 'error');
    return 1;
  }
  if (how === 'signal' && signalled !== 'SIGINT') return SIGNAL_STATUS[signalled ?? 'SIGTERM'];
  const v = live.state;
  const report = ctx.report(target.id, { dns: v.dns, order: v.order, ipinfo: v.ipinfo, mpls: v.mpls });
  if (report.length > 0) ctx.out(report.join('\n') + '\n');
  return how === 'signal' ? SIGNAL_STATUS.SIGINT : 0;
}
