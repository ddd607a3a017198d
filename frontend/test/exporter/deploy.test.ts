// The shipped deploy assets: the alert and recording rules pass `promtool check rules` and their unit
// tests (`promtool test rules`), the example Prometheus configuration passes `promtool check config`,
// and the systemd unit starts the exporter with flags it knows.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requirements } from '../../../test/support/env.js';
import { HELP } from '../../src/exporter/main.js';

const deploy = fileURLToPath(new URL('../../deploy/', import.meta.url));
const promtool = spawnSync('promtool', ['--version']).status === 0;
const skip = requirements('promtool on the deploy assets', [
  [promtool, "needs promtool (Debian's prometheus package)"],
]);

function run(args: string[]): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: deploy, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe.skipIf(skip !== undefined)('deploy assets under promtool', () => {
  it('the rules are valid', () => {
    const r = run(['check', 'rules', 'mtr-ts-exporter.rules.yml']);
    expect(r.out).toContain('SUCCESS: 6 rules found');
    expect(r.code).toBe(0);
  });

  it('the rules pass their unit tests (loss over 5 minutes, path changed, destination unreachable, path problem)', () => {
    const r = run(['test', 'rules', 'mtr-ts-exporter.rules.test.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('the example scrape configuration is valid', () => {
    const r = run(['check', 'config', 'prometheus.yml']);
    expect(r.code, r.out).toBe(0);
  });
});

describe('systemd unit', () => {
  it('runs the exporter with flags it documents, reloads with SIGHUP', () => {
    const unit = readFileSync(`${deploy}/mtr-ts-exporter.service`, 'utf8');
    const exec = /^ExecStart=(\S+) (.*)$/m.exec(unit);
    expect(exec?.[1]).toBe('/usr/bin/mtr-ts-exporter');
    for (const flag of (exec?.[2] ?? '').split(' ')) expect(HELP).toContain(flag.split('=')[0] as string);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  });
});
