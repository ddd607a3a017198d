// The exporter's configuration from data files: every key, defaults, every problem reported at once
// with its place, durations, and the reload diff.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_BUDGET,
  diffTargets,
  parseConfig,
  parseDuration,
  type TargetSpec,
} from '../../src/exporter/config.js';

const file = (name: string): string => readFileSync(new URL(`./configs/${name}`, import.meta.url), 'utf8');

function problems(text: string): string[] {
  try {
    parseConfig(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('parsed without a problem');
}

describe('exporter configuration', () => {
  it('reads every key, with defaults applied and labels merged', () => {
    const c = parseConfig(file('full.yml'));
    expect(c.perHop).toBe('full');
    expect(c.window).toBe(120);
    expect(c.diagnosis).toBe(false);
    expect(c.budget).toEqual({ probesPerSecond: 500, routerProbesPerSecond: 2, routerBurst: 4, maxInFlight: 1000 });
    expect(c.targets.map((t) => t.name)).toEqual(['gateway', 'web', 'v6']);
    const [gw, web, v6] = c.targets as [TargetSpec, TargetSpec, TargetSpec];
    expect(gw).toEqual({
      name: 'gateway',
      host: '192.0.2.1',
      protocol: 'icmp',
      port: undefined,
      interval: 2,
      timeout: 3,
      size: 100,
      maxTtl: 20,
      ipVersion: undefined,
      labels: { site: 'fra', team: 'net' },
    });
    expect(web).toMatchObject({
      protocol: 'tcp',
      port: 443,
      interval: 0.5,
      labels: { site: 'fra', team: 'web', tier: '1' },
    });
    expect(v6).toMatchObject({ protocol: 'udp', interval: 1.5, ipVersion: 6, host: '2001:db8::1' });
    expect(c.modules.icmp).toMatchObject({ protocol: 'icmp', interval: 2 });
    expect(c.modules.tcp443).toMatchObject({ protocol: 'tcp', port: 443, interval: 0.5, timeout: 3 });
  });

  it('fills in the defaults of a minimal file', () => {
    const c = parseConfig(file('minimal.yml'));
    expect(c.perHop).toBe('counters');
    expect(c.diagnosis).toBe(true);
    expect(c.budget).toEqual(DEFAULT_BUDGET);
    expect(c.targets[0]).toMatchObject({
      name: 'lo',
      host: '127.0.0.1',
      protocol: 'icmp',
      interval: 1,
      timeout: 2,
      size: 64,
      maxTtl: 30,
      labels: {},
    });
  });

  it('reports every problem at once, each with its place', () => {
    const expected = file('bad.expected').trim().split('\n');
    expect(problems(file('bad.yml')).sort()).toEqual(expected.sort());
  });

  it('reports YAML syntax errors with their line', () => {
    const p = problems(file('syntax.yml'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^YAML: .* at line 3, column 5$/);
  });

  it('rejects a file that is not a mapping or has no targets', () => {
    expect(problems('- a\n- b\n')).toEqual(['the file must be a YAML mapping with a `targets:` list']);
    expect(problems('per_hop: off\n')).toEqual(['no `targets:` list']);
    expect(problems('targets: {a: 1}\n')).toEqual(['targets: must be a list']);
    expect(parseConfig('targets:\n').targets).toEqual([]);
  });

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBeCloseTo(0.5);
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration(' 1.5s ')).toBe(1.5);
    expect(parseDuration(3)).toBe(3);
    expect(parseDuration('3')).toBe(3);
    for (const bad of ['', 'ms', '1 s', '1d', '-1s', 'fast', null, true, NaN])
      expect(parseDuration(bad)).toBeUndefined();
  });

  it('diffs two configurations by name', () => {
    const a = parseConfig(
      'targets:\n  - {name: keep, host: 192.0.2.1}\n  - {name: gone, host: 192.0.2.2}\n  - {name: edit, host: 192.0.2.3}\n',
    );
    const b = parseConfig(
      'targets:\n  - {name: keep, host: 192.0.2.1}\n  - {name: edit, host: 192.0.2.3, interval: 2}\n  - {name: new, host: 192.0.2.4}\n',
    );
    const d = diffTargets(a.targets, b.targets);
    expect(d.kept.map((t) => t.name)).toEqual(['keep']);
    expect(d.removed.map((t) => t.name)).toEqual(['gone']);
    expect(d.changed.map((t) => t.name)).toEqual(['edit']);
    expect(d.added.map((t) => t.name)).toEqual(['new']);
    const c = parseConfig('targets:\n  - {name: keep, host: 192.0.2.1, labels: {a: b}}\n');
    expect(diffTargets(a.targets, c.targets).changed.map((t) => t.name)).toEqual(['keep']);
  });
});
