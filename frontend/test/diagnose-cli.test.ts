// --diagnose and --html through mtr-ts's main() with the fake packet program (no privileges needed): the
// Diagnosis section after the report, the page on disk, and nothing invented on a clean or load-balanced path.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as runWith } from './run-cli.js';
import { explain, validateEventLine, validateReport } from './schemas.js';



/** the fake packet program answers in 20 ms */
const runCli = (args: string[], env: Record<string, string>) => runWith(args, { FAKE_TIMEOUT_MS: '20', ...env });

/** 100 cycles at 0.05 s: windows 1-50 (judged at cycle 90, once 2 s old) and 51-100 (at the end) */
const RUN = ['-n', '-c', '100', '-i', '0.05', '-G', '1'];

function verdicts(out: string): string[] {
  const at = out.indexOf('\nDiagnosis (');
  return at < 0
    ? []
    : [...out.slice(at).matchAll(/^ {2}(hop \d+|path): ([a-z-]+) \(/gm)].map(
        (m) => `${m[2]}@${m[1]!.replace('hop ', '')}`,
      );
}

describe('--diagnose and --html with the fake packet program', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-diag-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a silent first hop: the section follows the report and names hop 1', async () => {
    const r = await runCli(['--diagnose', '-r', ...RUN, '127.0.0.1'], { FAKE_PATH: '*,10.0.0.2,127.0.0.1' });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\n {2}3\.\|-- 127\.0\.0\.1 [^\n]*\n\nDiagnosis \(100 cycles; 2 windows of 50 cycles/);
    expect(verdicts(r.out)).toEqual(['first-hop-silent@1']);
  }, 30_000);

  it('an unreachable answer at hop 2 names hop 2 and the reply word', async () => {
    const r = await runCli(['--diagnose', '-r', ...RUN, '127.0.0.1'], { FAKE_PATH: '10.0.0.1,10.0.0.9!' });
    expect(r.code, r.err).toBe(0);
    expect(verdicts(r.out)).toEqual(['destination-unreachable@2']);
    expect(r.out).toContain('(no-route-host)');
  }, 30_000);

  it('a clean path and a load-balanced hop: no finding; --html writes the page', async () => {
    const page = join(dir, 'report.html');
    const [clean, ecmp] = await Promise.all([
      runCli(['--diagnose', '--html', page, '-r', ...RUN, '127.0.0.1'], { FAKE_PATH: '10.0.0.1,10.0.0.2,127.0.0.1' }),
      runCli(['--diagnose', '-r', ...RUN, '127.0.0.1'], { FAKE_PATH: '10.0.0.1,10.0.0.2|10.0.0.3,127.0.0.1' }),
    ]);
    for (const r of [clean, ecmp]) {
      expect(r.code, r.err).toBe(0);
      expect(verdicts(r.out), r.out).toEqual([]);
      expect(r.out).toContain('No finding');
    }
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('<h1>Trace from ');
    expect(html).toContain('No finding');
    expect(html).toContain('10.0.0.2');
    expect(html).toContain('<svg');
  }, 30_000);

  it('without --diagnose the report is unchanged; with too few cycles the section says why', async () => {
    const plain = await runCli(['-r', '-n', '-c', '3', '-i', '0.05', '127.0.0.1'], { FAKE_PATH: '10.0.0.1,127.0.0.1' });
    expect(plain.out).not.toContain('Diagnosis');
    const short = await runCli(['--diagnose', '-r', '-n', '-c', '3', '-i', '0.05', '127.0.0.1'], {
      FAKE_PATH: '10.0.0.1,127.0.0.1',
    });
    expect(short.out).toContain('Nothing can be judged yet: 3 cycles');
  }, 30_000);

  it('--json-rich: a diagnosis per target, valid against the published schema', async () => {
    const r = await runCli(['--diagnose', '--json-rich', ...RUN, '127.0.0.1'], { FAKE_PATH: '*,10.0.0.2,127.0.0.1' });
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as {
      targets: Array<{
        diagnosis: {
          windows: number;
          verdicts: Array<{ rule: string; hop: number; evidence: Record<string, number> }>;
        };
      }>;
    };
    expect(validateReport(doc), explain(validateReport.errors)).toBe(true);
    const d = doc.targets[0]!.diagnosis;
    expect(d.windows).toBe(2);
    expect(d.verdicts.map((v) => `${v.rule}@${v.hop}`)).toEqual(['first-hop-silent@1']);
    expect(d.verdicts[0]!.evidence).toMatchObject({ later_ttl: 2, received: 0 });
  }, 30_000);

  it('--ndjson: diagnosis_raised after the event it was judged on, valid lines', async () => {
    const r = await runCli(['--diagnose', '--ndjson', ...RUN, '127.0.0.1'], { FAKE_PATH: '*,10.0.0.2,127.0.0.1' });
    expect(r.code, r.err).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; seq: number; verdict?: { rule: string; hop: number } });
    for (const l of lines)
      expect(validateEventLine(l), `${JSON.stringify(l)}\n${explain(validateEventLine.errors)}`).toBe(true);
    const at = lines.findIndex((l) => l.type === 'diagnosis_raised');
    expect(at).toBeGreaterThan(0);
    expect(lines[at]!.verdict).toMatchObject({ rule: 'first-hop-silent', hop: 1 });
    expect(lines[at]!.seq).toBe(lines[at - 1]!.seq);
    expect(['cycle_done', 'target_done']).toContain(lines[at - 1]!.type);
    expect(lines.filter((l) => l.type.startsWith('diagnosis_'))).toHaveLength(1);
  }, 30_000);

  it('--html to a place that cannot be written: one line on stderr, the report still printed', async () => {
    const r = await runCli(
      ['--html', join(dir, 'no/such/dir/x.html'), '-r', '-n', '-c', '2', '-i', '0.05', '127.0.0.1'],
      { FAKE_PATH: '127.0.0.1' },
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('127.0.0.1');
    expect(r.err).toMatch(/^mtr-ts: cannot write .*x\.html: ENOENT/m);
  }, 30_000);
});
