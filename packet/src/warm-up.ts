// A slow session's warm-up: V8 optimizes a function once it has run about 66 KB of its bytecode
// (the interrupt budget) a few times over. The daemon's per-probe functions are small and run once
// per probe, so at the pace of mtr's screen (tens of probes a second) they stay in unoptimized code
// for a minute or more, and the daemon's CPU in that first minute is about 1.5 times its later
// rate. A flood warms up by itself within a second.
//
// So: two seconds after the first command, if the daemon has had few commands so far (a slow
// session), the budget is lowered to 8 KB for 20 seconds, which has the per-probe path optimized
// within seconds, then set back to V8's default. Not from the start, and not in a flood: there the
// lower budget only adds compiling, code and peak RSS (the idle start and the 10,000-probe flood of
// the benchmark's footprint section, with their 50 MB target). Not for good: lukewarm functions
// would go on being optimized for minutes, and the RSS with them (the footprint section's 60 s
// session, whose second half must not grow).

/** the budget for a slow session (V8's default: 66 KB) */
export const SLOW_SESSION_BUDGET = 8192;
/** how long after the first command the session is judged */
export const JUDGE_AFTER_MS = 2000;
/** at most this many commands by then (250 a second) makes a slow session */
export const SLOW_MAX_COMMANDS = 500;
/** how long the lower budget lasts */
export const LOWERED_FOR_MS = 20_000;
/** V8's default budget (V8 11.3, Node 20: 66 KB), set again after the warm-up */
export const DEFAULT_BUDGET = 67584;

export interface WarmUpHooks {
  setFlags(flags: string): void;
  setTimeout(fn: () => void, ms: number): { unref(): unknown };
}

const realHooks = (setFlags: (flags: string) => void): WarmUpHooks => ({ setFlags, setTimeout: (fn, ms) => setTimeout(fn, ms) });

export class WarmUp {
  private commands = 0;
  private readonly hooks: WarmUpHooks;
  /** whether the lower budget is set (for tests) */
  lowered = false;

  constructor(hooks: WarmUpHooks | ((flags: string) => void)) {
    this.hooks = typeof hooks === 'function' ? realHooks(hooks) : hooks;
  }

  /** Called for each command line. */
  command(): void {
    if (this.commands++ !== 0) return;
    // unref: the judgement never keeps the process alive
    this.hooks.setTimeout(() => this.judge(), JUDGE_AFTER_MS).unref();
  }

  private judge(): void {
    if (this.commands > SLOW_MAX_COMMANDS) return;
    this.lowered = true;
    this.hooks.setFlags(`--interrupt-budget=${SLOW_SESSION_BUDGET}`);
    this.hooks.setTimeout(() => this.restore(), LOWERED_FOR_MS).unref();
  }

  private restore(): void {
    this.lowered = false;
    this.hooks.setFlags(`--interrupt-budget=${DEFAULT_BUDGET}`);
  }
}
