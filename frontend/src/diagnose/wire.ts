// The diagnosis wired into the CLI's outputs (--diagnose, --html FILE, --confirm): it wraps the chosen
// output, so the CLI composes one more consumer and nothing else changes.
//   -r / -w          the Diagnosis section after each target's report
//   --json-rich      `diagnosis` in each target (verdicts raised at the end, earlier ones, windows)
//   --ndjson         diagnosis_raised / diagnosis_cleared lines, after the event that led to them
//   --html FILE      the page, written when the run is over
//   --confirm        before a target's document: TCP probes when a verdict about the path's end is uncertain,
//                    direct pings at two rates of a hop suspected of limiting its answers, and large
//                    don't-fragment probes for `mtu` when the packet program can send them
// -j, -C, -x, -l and -p keep mtr 0.95's formats: --diagnose adds nothing to them (use --html there).

import { writeFileSync } from 'node:fs';
import { PROGRAM, VERSION } from '../options.js';
import type { Output, OutputContext, RunEnd } from '../outputs/types.js';
import { rfc3339, SCHEMA_VERSION, targetJson } from '../outputs/json-shapes.js';
import type { TargetId, TargetSnapshot } from '../stats/types.js';
import { alternateOf, confirmPlan, hopPingPlans, mtuPlan, type ConfirmPlan } from './confirm.js';
import { earlierJson, verdictJson } from './json.js';
import { diagnosisOutput, type DiagnosisOutput } from './output.js';

export interface DiagnosisWiring {
  /** the context to build the chosen output with (it lets --json-rich add each target's diagnosis) */
  readonly context: OutputContext;
  wrap(inner: Output): Output;
}

/** undefined when no diagnosis flag was given */
export function wireDiagnosis(ctx: OutputContext): DiagnosisWiring | undefined {
  const cfg = ctx.cfg;
  if (!cfg.diagnose && cfg.html === undefined && !cfg.confirm) return undefined;
  const textModes = cfg.mode === 'report' || cfg.mode === 'wide';
  /** targets added by --confirm: their events are not judged, their documents not printed */
  const probing = new Set<TargetId>();
  /** don't-fragment probes of a --confirm target that the packet program did not send (packet-too-big) */
  const tooBig = new Map<TargetId, number>();
  let seq = 0;
  const diag: DiagnosisOutput = diagnosisOutput({
    snapshot: (id) => ctx.engine.snapshot(id),
    names: ctx.names,
    dns: cfg.dns,
    localHostname: ctx.localHostname,
    generator: `${PROGRAM} ${VERSION}`,
    text: cfg.diagnose && textModes,
    htmlFile: cfg.html,
    writeFile: (path, text) => {
      try {
        writeFileSync(path, text);
      } catch (e) {
        ctx.warn(`cannot write ${path}: ${(e as Error).message}`);
      }
    },
    onVerdict:
      cfg.mode === 'ndjson'
        ? (kind, target, v) => {
            const t = ctx.engine.snapshot(target.id)?.target;
            ctx.write(
              JSON.stringify({
                schema_version: SCHEMA_VERSION,
                type: kind === 'raised' ? 'diagnosis_raised' : 'diagnosis_cleared',
                seq,
                ts: rfc3339(ctx.now()),
                target: t !== undefined ? targetJson(t) : null,
                verdict: verdictJson(v),
              }) + '\n',
            );
          }
        : undefined,
  });

  const context: OutputContext = {
    ...ctx,
    targetExtras: (id: TargetId) => {
      const run = diag.run(id);
      if (run === undefined) return {};
      const c = run.context();
      return {
        diagnosis: {
          windows: c.windows,
          window_cycles: c.windowCycles,
          too_thin: c.tooThin ?? null,
          verdicts: run.active().map(verdictJson),
          earlier: (c.earlier ?? []).map(earlierJson),
        },
      };
    },
  };

  /** Runs one plan as a target of its own; what it found, or undefined when it did not finish. */
  async function probe(s: TargetSnapshot, address: string, plan: ConfirmPlan) {
    if (cfg.mode === 'report' || cfg.mode === 'wide') {
      const what =
        plan.direct !== undefined
          ? `${plan.probes} pings of ${plan.direct.address} (hop ${plan.direct.hopTtl}) every ${plan.interval} s`
          : plan.dontFragment === true
          ? `${plan.probes} ${plan.protocol.toUpperCase()} probes of ${plan.size} bytes with don't-fragment at TTL ${plan.firstTtl}`
          : `${plan.probes} ${plan.protocol.toUpperCase()} probes to port ${plan.port}`;
      ctx.warn(`${s.target.name}: --confirm: ${plan.why}: ${what}`);
    }
    const t = ctx.engine.add(plan.direct?.address ?? address, {
      protocol: plan.protocol,
      port: plan.port,
      family: s.target.family,
      firstTtl: plan.firstTtl,
      maxTtl: plan.maxTtl,
      cycles: plan.cycles,
      interval: plan.interval,
      gracetime: 1,
      timeout: 1,
      ...(plan.size !== undefined ? { psize: plan.size } : {}),
      ...(plan.dontFragment === true ? { dontFragment: true } : {}),
    });
    probing.add(t.id);
    try {
      await ctx.engine.settled([t.id]);
      const found = ctx.engine.snapshot(t.id);
      if (found === undefined || found.status !== 'done') return undefined;
      const alt = alternateOf(plan, found, Math.abs(s.options.psize));
      const refused = tooBig.get(t.id) ?? 0;
      return refused > 0 ? { ...alt, refusedLocally: refused } : alt;
    } finally {
      ctx.engine.remove(t.id);
      tooBig.delete(t.id);
    }
  }

  async function confirm(s: TargetSnapshot): Promise<void> {
    const run = diag.run(s.target.id);
    const address = s.target.address;
    if (run === undefined || run.evidence === undefined || address === undefined) return;
    const plans: ConfirmPlan[] = [];
    const tcp = confirmPlan(run.active(), run.evidence, cfg.port > 0 ? cfg.port : undefined, s.options.interval);
    if (tcp !== undefined) plans.push(tcp);
    // don't-fragment probes need the packet program's extension (mtr-packet-ts); mtr 0.95's has none
    const mtu = ctx.engine.extensionOn('dont-fragment') ? mtuPlan(run.evidence, s.options.interval) : undefined;
    if (mtu !== undefined) plans.push(mtu);
    plans.push(...hopPingPlans(run.active(), run.evidence));
    for (const plan of plans) {
      const found = await probe(s, address, plan);
      if (found !== undefined) diag.confirm(s, [found]);
    }
  }

  return {
    context,
    wrap(inner) {
      return {
        onEvent(e) {
          if ('target' in e && e.target !== undefined && probing.has(e.target.id)) {
            if (e.type === 'probe-lost' && e.detail === 'packet-too-big')
              tooBig.set(e.target.id, (tooBig.get(e.target.id) ?? 0) + 1);
            if (cfg.mode === 'ndjson') inner.onEvent?.(e);
            return;
          }
          inner.onEvent?.(e);
          seq = e.seq;
          diag.onEvent(e);
        },
        async settle(s) {
          await inner.settle?.(s);
          if (cfg.confirm && !probing.has(s.target.id)) {
            diag.final(s); // the last window, judged before probing more
            await confirm(s);
          }
        },
        final(s) {
          if (probing.has(s.target.id)) return [];
          const own = inner.final?.(s) ?? [];
          const extra = diag.final(s);
          return textModes ? [...own, ...extra] : own;
        },
        close(how: RunEnd) {
          inner.close?.(how);
          diag.close();
        },
      };
    },
  };
}
