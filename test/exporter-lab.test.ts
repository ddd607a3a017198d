// mtr-ts-exporter on the netns lab, scraped by a real Prometheus (Debian's 2.42) every second. Both run
// in the lab's client namespace (their own loopback, so fixed ports cannot collide with anything). The
// test asks Prometheus's HTTP API, as a user's dashboard would:
// - the lab's hop count, and 0% loss on the clean path;
// - loss switched on at one link (nftables `numgen random` drop in r2's forward hook) found through
//   PromQL on mtrts_hop_probes_total/mtrts_hop_replies_total at TTL 3 and after it, none before, within 30 s,
//   and the path diagnosis raising forwarding-loss at TTL 3 (mtrts_diagnosis, mtrts_diagnosis_hop);
// - a path change when the lab re-routes (r2 sends the destination's prefix back to r1: a loop);
// and, on the exporter itself: /metrics passes `promtool check metrics`; /probe traces a host; a reload
// adds/removes targets without resetting the others; the packet program killed five times is restarted
// five times with no zombie; SIGTERM leaves no process behind.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { requirements } from './support/env.js';

const EXPORTER = fileURLToPath(new URL('../frontend/bin/mtr-ts-exporter.js', import.meta.url));
const has = (cmd: string): boolean => spawnSync(cmd, ['--version']).status === 0;
const skip = requirements('mtr-ts-exporter scraped by Prometheus in the lab', [
  [has('prometheus'), "needs prometheus 2.x (Debian's prometheus package)"],
  [has('promtool'), "needs promtool (Debian's prometheus package)"],
]);

const EXPORTER_ADDR = '127.0.0.1:10310';
const PROM_ADDR = '127.0.0.1:19090';

const config = (targets: string): string => `
defaults:
  interval: 500ms
  timeout: 1
  max_ttl: 8
budget:
  router_probes_per_second: 200
  router_burst: 20
targets:
${targets}`;

const DEST = '  - {name: dest, host: 10.0.4.2, labels: {site: lab}}\n';
const R3 = '  - {name: r3, host: 10.0.3.2}\n';
const R2 = '  - {name: r2, host: 10.0.2.2}\n';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describeLab('mtr-ts-exporter in the lab, scraped by Prometheus', () => {
  const lab = useLab({ delaysMs: [0.2, 0.2, 0.2, 0.2] });
  if (skip) return;

  let dir: string;
  let cfgFile: string;
  let exporter: ChildProcess;
  let exporterOut = '';
  let prometheus: ChildProcess;

  /** GET (or POST) from inside the client namespace; the body and status. */
  async function http(
    url: string,
    method = 'GET',
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    const script = `fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(method)}, headers: ${JSON.stringify(headers)} })
      .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))
      .catch((e) => process.stdout.write(JSON.stringify({ status: 0, body: String(e) })))`;
    const r = await lab().exec('client', [process.execPath, '-e', script], { timeoutMs: 20_000 });
    return JSON.parse(r.stdout || '{"status":0,"body":"no output"}') as { status: number; body: string };
  }

  async function query(expr: string): Promise<Sample[]> {
    const r = await http(`http://${PROM_ADDR}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (r.status !== 200) return [];
    return (JSON.parse(r.body) as { data: { result: Sample[] } }).data.result;
  }

  async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
    const end = Date.now() + ms;
    let last: unknown;
    for (;;) {
      try {
        const v = await fn();
        if (v !== undefined) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\nexporter said:\n${exporterOut}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** One number from a PromQL query with one result. */
  const scalar = async (expr: string): Promise<number | undefined> => {
    const r = await query(expr);
    return r.length === 1 ? Number(r[0]?.value[1]) : undefined;
  };

  function metricValue(text: string, series: string): number | undefined {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }

  const children = (pid: number): Array<{ pid: number; state: string }> => {
    const r = spawnSync('ps', ['-o', 'pid=,stat=', '--ppid', String(pid)], { encoding: 'utf8' });
    return r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const [p, s] = l.trim().split(/\s+/);
        return { pid: Number(p), state: s ?? '' };
      });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mtrts-exporter-'));
    cfgFile = join(dir, 'exporter.yml');
    writeFileSync(cfgFile, config(DEST + R3));
    exporter = lab().spawnIn(
      'client',
      process.execPath,
      [
        EXPORTER,
        `--config.file=${cfgFile}`,
        `--web.listen-address=${EXPORTER_ADDR}`,
        `--events.file=${join(dir, 'events.ndjson')}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    exporter.stdout?.on('data', (d: Buffer) => (exporterOut += d.toString()));
    exporter.stderr?.on('data', (d: Buffer) => (exporterOut += d.toString()));
    await until('the exporter to be ready', 20_000, async () =>
      (await http(`http://${EXPORTER_ADDR}/-/ready`)).status === 200 ? true : undefined,
    );
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: mtr-ts\n    static_configs: [{targets: ['${EXPORTER_ADDR}']}]\n`,
    );
    prometheus = lab().spawnIn(
      'client',
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=${PROM_ADDR}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    // the first scrape comes ~6 s after start (the scrape manager's reload tick)
    await until('Prometheus to scrape the exporter', 30_000, async () =>
      (await scalar('up{job="mtr-ts"}')) === 1 ? true : undefined,
    );
  }, 60_000);

  afterAll(() => {
    prometheus?.kill('SIGKILL');
    if (exporter?.exitCode === null) exporter.kill('SIGKILL');
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics that promtool accepts', async () => {
    const r = await http(`http://${EXPORTER_ADDR}/metrics`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('mtrts_destination_probes_total{target="dest"}');
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it("shows the lab's hop count and no loss on the clean path", async () => {
    expect(
      await until('path_hops 4', 20_000, async () =>
        (await scalar('mtrts_path_hops{target="dest"}')) === 4 ? 4 : undefined,
      ),
    ).toBe(4);
    const loss = await until('a loss ratio over 10 s', 20_000, () =>
      scalar(
        '1 - increase(mtrts_destination_replies_total{target="dest"}[10s]) / increase(mtrts_destination_probes_total{target="dest"}[10s])',
      ),
    );
    expect(loss).toBe(0);
    const hops = await query(
      'sum by (ttl) (increase(mtrts_hop_probes_total{target="dest"}[10s]) - increase(mtrts_hop_replies_total{target="dest"}[10s]))',
    );
    expect(hops.map((s) => s.metric.ttl).sort()).toEqual(['1', '2', '3', '4']);
    for (const s of hops) expect(Number(s.value[1]), `lost at ttl ${s.metric.ttl}`).toBe(0);
    expect(await scalar('mtrts_destination_reachable{target="dest"}')).toBe(1);
    expect(await scalar('mtrts_target_info{target="dest",site="lab",address="10.0.4.2"}')).toBe(1);
  });

  it('finds loss switched on at one link at its TTL and after it, within 30 s', async () => {
    // r2 drops 30% of what it forwards from r1: probes with TTL >= 3 (TTL 2 expires at r2 before its forward hook)
    await lab().nft(
      'r2',
      'table inet exptest {\n  chain fw {\n    type filter hook forward priority 0;\n    iifname "l2" numgen random mod 10 < 3 drop\n  }\n}\n',
    );
    const started = Date.now();
    try {
      const lossAt = (ttl: number): Promise<number | undefined> =>
        scalar(
          `1 - increase(mtrts_hop_replies_total{target="dest",ttl="${ttl}"}[8s]) / increase(mtrts_hop_probes_total{target="dest",ttl="${ttl}"}[8s])`,
        );
      await until('loss at TTL 3 and 4', 30_000, async () => {
        const [l3, l4] = [await lossAt(3), await lossAt(4)];
        return l3 !== undefined && l4 !== undefined && l3 > 0.1 && l4 > 0.1 ? true : undefined;
      });
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(await lossAt(1)).toBe(0);
      expect(await lossAt(2)).toBe(0);
    } finally {
      await lab().nft('r2', 'delete table inet exptest');
    }
  });

  it('raises forwarding-loss at TTL 3 in mtrts_diagnosis while the loss lasts', async () => {
    await lab().nft(
      'r2',
      'table inet exptest {\n  chain fw {\n    type filter hook forward priority 0;\n    iifname "l2" numgen random mod 10 < 3 drop\n  }\n}\n',
    );
    try {
      // two windows of 50 traces in a row (every 500 ms: judged every 12.5 s) must show it
      const hop = await until('forwarding-loss raised', 100_000, async () =>
        (await scalar('mtrts_diagnosis{target="dest",rule="forwarding-loss"}')) === 1
          ? scalar('mtrts_diagnosis_hop{target="dest",rule="forwarding-loss"}')
          : undefined,
      );
      expect(hop).toBe(3);
      expect(await scalar('mtrts_diagnosis_confidence{target="dest",rule="forwarding-loss"}')).toBeGreaterThan(0.8);
      expect(await scalar('count(mtrts_diagnosis{target="dest"})')).toBe(14);
    } finally {
      await lab().nft('r2', 'delete table inet exptest');
    }
  }, 120_000);

  it('counts a path change when the lab re-routes', async () => {
    const before = await until('path changes so far', 10_000, () => scalar('mtrts_path_changes_total{target="dest"}'));
    const idBefore = await scalar('mtrts_path_id{target="dest"}');
    // r2 sends the destination's prefix back to r1, which sends it to r2 again: a loop r1, r2, r1, ...
    await lab().exec('r2', ['ip', 'route', 'add', '10.0.4.0/24', 'via', '10.0.2.1']);
    try {
      await until('a path change', 30_000, async () => {
        const now = await scalar('mtrts_path_changes_total{target="dest"}');
        return now !== undefined && now > before ? true : undefined;
      });
      expect(await scalar('mtrts_path_id{target="dest"}')).not.toBe(idBefore);
      expect(
        await until('reachable 0', 20_000, async () =>
          (await scalar('mtrts_destination_reachable{target="dest"}')) === 0 ? 0 : undefined,
        ),
      ).toBe(0);
    } finally {
      await lab().exec('r2', ['ip', 'route', 'del', '10.0.4.0/24']);
    }
    await until('the destination back', 20_000, async () =>
      (await scalar('mtrts_destination_reachable{target="dest"}')) === 1 ? true : undefined,
    );
  });

  it('answers /probe for a host it does not trace (within the scrape timeout) and for one it does', async () => {
    const t0 = Date.now();
    const r = await http(`http://${EXPORTER_ADDR}/probe?target=10.0.2.2&module=icmp`, 'GET', {
      'X-Prometheus-Scrape-Timeout-Seconds': '3',
    });
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(r.status).toBe(200);
    expect(metricValue(r.body, 'mtrts_probe_success')).toBe(1);
    expect(metricValue(r.body, 'mtrts_destination_replies_total{target="10.0.2.2"}')).toBeGreaterThan(0);
    expect(r.body).toContain('mtrts_hop_replies_total{target="10.0.2.2",ttl="2"}');
    const known = await http(`http://${EXPORTER_ADDR}/probe?target=dest`);
    expect(known.body).toContain('mtrts_destination_probes_total{target="dest"}');
    expect(known.body).not.toContain('target="r3"');
  });

  it('reloads: adds and removes targets without resetting the others', async () => {
    const get = async (): Promise<string> => (await http(`http://${EXPORTER_ADDR}/metrics`)).body;
    const before = metricValue(await get(), 'mtrts_destination_probes_total{target="dest"}') as number;
    expect(before).toBeGreaterThan(0);
    writeFileSync(cfgFile, config(DEST + R2));
    const r = await http(`http://${EXPORTER_ADDR}/-/reload`, 'POST');
    expect(r.body.trim()).toBe('1 added, 1 removed, 0 changed, 1 kept');
    const text = await until('the new target answering', 15_000, async () => {
      const t = await get();
      return (metricValue(t, 'mtrts_destination_replies_total{target="r2"}') ?? 0) > 0 ? t : undefined;
    });
    expect(metricValue(text, 'mtrts_destination_probes_total{target="dest"}')).toBeGreaterThanOrEqual(before);
    expect(text).not.toContain('target="r3"');
    expect(metricValue(text, 'mtrts_config_reloads_total{result="success"}')).toBe(2);
    // a broken file changes nothing
    writeFileSync(cfgFile, 'targets: [');
    const bad = await http(`http://${EXPORTER_ADDR}/-/reload`, 'POST');
    expect(bad.status).toBe(500);
    const after = await get();
    expect(metricValue(after, 'mtrts_config_reloads_total{result="failure"}')).toBe(1);
    expect(metricValue(after, 'mtrts_config_last_reload_successful')).toBe(0);
    expect(after).toContain('target="r2"');
    // SIGHUP reloads too
    writeFileSync(cfgFile, config(DEST));
    exporter.kill('SIGHUP');
    await until('r2 gone after SIGHUP', 10_000, async () =>
      !(await get()).includes('target="r2"') ? true : undefined,
    );
  });

  it('restarts the packet program killed five times, with no zombie', async () => {
    const pid = exporter.pid as number;
    let daemon = await until('the packet program', 10_000, async () => children(pid)[0]?.pid);
    for (let i = 0; i < 5; i++) {
      process.kill(daemon, 'SIGKILL');
      const old = daemon;
      daemon = await until(
        `packet program #${i + 2}`,
        10_000,
        async () => children(pid).find((c) => c.pid !== old && !c.state.startsWith('Z'))?.pid,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    const kids = children(pid);
    expect(
      kids.filter((c) => c.state.startsWith('Z')),
      'zombies',
    ).toEqual([]);
    expect(kids).toHaveLength(1);
    const text = (await http(`http://${EXPORTER_ADDR}/metrics`)).body;
    expect(metricValue(text, 'mtrts_packet_daemon_restarts_total')).toBe(5);
    // answers keep coming (compared with the answers so far: earlier tests' loss left probes ahead of them)
    const replies = metricValue(text, 'mtrts_destination_replies_total{target="dest"}') as number;
    await until('probing going on', 10_000, async () =>
      (metricValue(
        (await http(`http://${EXPORTER_ADDR}/metrics`)).body,
        'mtrts_destination_replies_total{target="dest"}',
      ) ?? 0) > replies
        ? true
        : undefined,
    );
  });

  it('stops on SIGTERM with exit 0 and leaves no process behind', async () => {
    const pid = exporter.pid as number;
    const daemons = children(pid).map((c) => c.pid);
    expect(daemons.length).toBe(1);
    const exited = new Promise<number | null>((r) => exporter.once('exit', (code) => r(code)));
    exporter.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    expect(code).toBe(0);
    for (const d of daemons)
      expect(spawnSync('kill', ['-0', String(d)]).status, `packet program ${d} still there`).not.toBe(0);
    expect(exporterOut).toContain('SIGTERM: stopping');
    // the event stream saw it all, in the engine's shapes, with the configuration's names
    const events = readFileSync(join(dir, 'events.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; exporter_target: string | null; schema_version: number });
    expect(events.every((e) => e.schema_version === 1)).toBe(true);
    expect(events.some((e) => e.type === 'path_changed' && e.exporter_target === 'dest')).toBe(true);
    expect(events.some((e) => e.type === 'target_added' && e.exporter_target === 'r2')).toBe(true);
    expect(events.filter((e) => e.type === 'packet_process_exited')).toHaveLength(5);
    expect(events.some((e) => e.type === 'probe_sent')).toBe(false); // per-probe lines only with --events.probes
  });
});
