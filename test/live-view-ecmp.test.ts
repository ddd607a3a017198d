// The live view with --flows on the real ECMP lab (test/lab/ecmp-lab.ts: a layer-4 multipath hop over two
// members, m2 dropping 30% of the probes), as a person sees it in tmux: under the balanced hop, one line per
// member with its own statistics and share, the loss on the bad member only, then the hop's balancing.
import { describe, expect, it } from 'vitest';
import { useEcmpLab } from './lab/use-ecmp-lab.js';
import { canRunLab } from './lab/lab.js';
import { ourFrontend, requirements } from './support/env.js';
import { haveTmux, Tmux } from './live-view-tmux.js';

const can = canRunLab();
const skip = requirements('live view --flows on the ECMP lab', [
  [haveTmux, 'needs tmux'],
  [can.ok, can.ok ? '' : can.reason],
]);

interface MemberLine {
  share: number;
  host: string;
  loss: number;
  sent: number;
}
/** the member lines under hop 2 of a statistics screen */
function members(screen: string[]): MemberLine[] {
  const at = screen.findIndex((l) => l.startsWith(' 2. '));
  const out: MemberLine[] = [];
  if (at < 0) return out;
  for (const l of screen.slice(at + 1)) {
    const m = /^ {4}\+-- +(\d+)% (\S+)\s+(\d+\.\d)%\s+(\d+)\s/.exec(l);
    if (m === null) break;
    out.push({ share: Number(m[1]), host: m[2] as string, loss: Number(m[3]), sent: Number(m[4]) });
  }
  return out;
}

describe.skipIf(skip !== undefined)('live view --flows on the ECMP lab', () => {
  const lab = useEcmpLab({ lossPct: 30 });

  it('each member of the balanced hop on its own line, the loss on the bad member only', async () => {
    const l = lab();
    const t = new Tmux();
    try {
      t.start(`ip netns exec ${l.names.client} ${process.execPath} ${ourFrontend} -n -u -i 0.1 --flows 8 ${l.target4}`, 100, 30);
      // both members, each with probes, and a loss counted on either (a probe counts as lost once it timed out)
      const s = await t.waitFor(
        (x) => {
          const m = members(x);
          return m.length === 2 && m.every((r) => r.sent >= 20) && m.some((r) => r.loss > 0);
        },
        40_000,
        'two member lines, a loss on one',
      );
      const m = members(s);
      expect(m.map((r) => r.host).sort()).toEqual([...l.members4].sort());
      const bad = m.find((r) => r.host === l.bad4) as MemberLine;
      const good = m.find((r) => r.host !== l.bad4) as MemberLine;
      expect(bad.loss, s.join('\n')).toBeGreaterThan(0);
      expect(good.loss, s.join('\n')).toBe(0);
      expect(Math.abs(bad.share + good.share - 100)).toBeLessThanOrEqual(1);
      const below = s[s.findIndex((x) => x.startsWith(' 2. ')) + 3] ?? '';
      expect(below).toMatch(/^ {4}\+-- per-(flow|packet) balancing$/);
      t.keys('q');
      await t.waitFor((x) => x.some((y) => y.includes('[exit 0]')), 10_000, 'exit 0');
    } finally {
      t.kill();
    }
  }, 60_000);
});
