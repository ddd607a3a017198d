// Verdicts in the machine outputs (--json-rich, --ndjson): snake_case keys like the rest of those outputs.

import type { EarlierVerdict } from './text.js';
import type { Verdict } from './types.js';

type Obj = { [key: string]: string | number | null | Obj | Obj[] | string[] };

export const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function verdictJson(v: Verdict): Obj {
  const evidence: Obj = {};
  for (const [k, x] of Object.entries(v.evidence)) evidence[snake(k)] = x;
  const facts: Obj = {};
  for (const [k, x] of Object.entries(v.facts)) facts[snake(k)] = x;
  return {
    rule: v.rule,
    hop: v.hop ?? null,
    confidence: v.confidence,
    severity: v.severity,
    evidence,
    facts,
    summary: v.summary,
    advice: v.advice,
  };
}

export function earlierJson(e: EarlierVerdict): Obj {
  return { ...verdictJson(e.verdict), raised_at_cycle: e.raisedAt, cleared_at_cycle: e.clearedAt };
}
