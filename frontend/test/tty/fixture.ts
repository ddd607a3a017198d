// Snapshot fixtures for the live view's tests: frontend/test/fixtures/tty/*.json hold
// { snapshot: LiveSnapshot, names: { address: name } }.
import { readFileSync, writeFileSync } from 'node:fs';
import type { LiveNames, LiveSnapshot } from '../../src/tty/snapshot.js';

export const fixturePath = (name: string): URL => new URL(`../fixtures/tty/${name}`, import.meta.url);

export function loadFixture(name: string): { snapshot: LiveSnapshot; names: LiveNames } {
  const d = JSON.parse(readFileSync(fixturePath(`${name}.json`), 'utf8')) as { snapshot: LiveSnapshot; names: Record<string, string>; ipinfo?: Record<string, string> };
  return {
    snapshot: d.snapshot,
    names: { host: (a) => d.names[a], ipinfo: (a) => d.ipinfo?.[a] },
  };
}

/** Compares with a golden text file; UPDATE_GOLDEN=1 rewrites it instead. */
export function golden(name: string, text: string): string {
  const p = fixturePath(name);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(p, text);
  return readFileSync(p, 'utf8');
}
