// The HTML report: self-contained markup, and what headless Chromium actually paints from it (the screenshot
// is decoded and its pixels checked: the verdict colours, the chart, the loss row).

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnose, type Verdict } from '../src/diagnose/index.js';
import { HTML_COLOURS, escapeHtml, renderHtml, type HtmlHop, type HtmlReport } from '../src/diagnose/html.js';
import { loadScenarios, pathOf } from './diagnose-fixtures.js';
import { skipUnless } from './needs.js';

function chromiumPath(): string | undefined {
  for (const c of ['chromium', 'chromium-browser']) {
    try {
      const p = execFileSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).trim();
      if (p !== '') return p;
    } catch {
      /* not there */
    }
  }
  return undefined;
}

const scenarios = loadScenarios();

function reportFor(name: string): HtmlReport {
  const s = scenarios.find((x) => x.name === name)!;
  const path = pathOf(s, s);
  const verdicts: Verdict[] = diagnose(path);
  const hops: HtmlHop[] = path.hops.map((h) => ({
    ttl: h.ttl,
    host: h.responders[0]?.address ?? '???',
    lossPercent: h.window.sent > 0 ? (100 * (h.window.sent - h.window.received)) / h.window.sent : 0,
    sent: h.window.sent,
    received: h.window.received,
    last: h.rtt?.median,
    best: h.rtt?.min,
    avg: h.rtt?.mean,
    worst: h.rtt?.max,
    stdev: h.rtt?.stddev,
    median: h.rtt?.median,
    p95: h.rtt?.p95,
  }));
  return {
    target: 'dest.example',
    targetAddress: path.target,
    localHostname: 'client <lab>',
    startTime: Date.UTC(2026, 11, 2, 17, 0, 0),
    protocol: path.protocol,
    probeSize: path.probeSize,
    cycles: 100,
    interval: 0.1,
    hops,
    verdicts,
    diagnosisNote: '2 windows of 50 cycles',
    generator: 'mtr-ts test',
  };
}

describe('HTML report markup', () => {
  it('is one self-contained page: no script, no external resource', () => {
    const html = renderHtml(reportFor('forwarding-loss-and-rate-limit'));
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    // the only URL is the SVG namespace name, which is never fetched
    expect(html.match(/https?:\/\/[^"\s]*/g) ?? []).toEqual(['http://www.w3.org/2000/svg']);
    expect(html).toContain('forwarding-loss');
    expect(html).toContain('icmp-rate-limited');
    expect(html).toContain('client &lt;lab&gt;');
    expect(html).toContain('<svg');
  });
  it('escapes whatever comes from the network', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const r = reportFor('clean');
    const html = renderHtml({ ...r, hops: r.hops.map((h) => ({ ...h, host: '<script>alert(1)</script>' })) });
    expect(html).not.toContain('<script>');
  });
});

// ---------------------------------------------------------------------------------------------------------
// PNG decoding (8-bit greyscale/RGB/RGBA, not interlaced: what Chromium writes)

interface Image {
  width: number;
  height: number;
  /** RGB triples */
  pixel(x: number, y: number): [number, number, number];
}

export function decodePng(buf: Buffer): Image {
  expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let off = 8;
  let width = 0;
  let height = 0;
  let colourType = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8], 'bit depth').toBe(8);
      colourType = data[9]!;
      expect(data[12], 'interlace').toBe(0);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colourType];
  if (channels === undefined) throw new Error(`PNG colour type ${colourType} not handled`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let yy = 0; yy < height; yy++) {
    const filter = raw[yy * (stride + 1)]!;
    const line = raw.subarray(yy * (stride + 1) + 1, (yy + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[yy * stride + i - channels]! : 0;
      const b = yy > 0 ? out[(yy - 1) * stride + i]! : 0;
      const c = yy > 0 && i >= channels ? out[(yy - 1) * stride + i - channels]! : 0;
      let v = line[i]!;
      switch (filter) {
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
      }
      out[yy * stride + i] = v & 0xff;
    }
  }
  return {
    width,
    height,
    pixel(x, yy) {
      const o = yy * stride + x * channels;
      return channels >= 3 ? [out[o]!, out[o + 1]!, out[o + 2]!] : [out[o]!, out[o]!, out[o]!];
    },
  };
}

function hex(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

/** How many pixels are within `tol` of each colour, and how many are not near-white. */
function census(
  img: Image,
  colours: Record<string, string>,
  tol = 12,
): { counts: Record<string, number>; inked: number } {
  const targets = Object.entries(colours).map(([k, c]) => [k, hex(c)] as const);
  const counts: Record<string, number> = Object.fromEntries(targets.map(([k]) => [k, 0]));
  let inked = 0;
  for (let yy = 0; yy < img.height; yy++) {
    for (let x = 0; x < img.width; x++) {
      const [r, g, b] = img.pixel(x, yy);
      if (r < 240 || g < 240 || b < 240) inked++;
      for (const [k, [tr, tg, tb]] of targets) {
        if (Math.abs(r - tr) <= tol && Math.abs(g - tg) <= tol && Math.abs(b - tb) <= tol) counts[k]!++;
      }
    }
  }
  return { counts, inked };
}

const chromium = chromiumPath();
const skip = skipUnless(chromium !== undefined, "the HTML screenshot test needs Chromium (Debian's chromium)");

describe.skipIf(skip)('HTML report in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-html-'));
  afterAll(() => (process.env.KEEP_HTML_SHOTS ? undefined : rmSync(dir, { recursive: true, force: true })));

  function screenshot(name: string, html: string): Promise<Image> {
    const page = join(dir, `${name}.html`);
    const png = join(dir, `${name}.png`);
    writeFileSync(page, html);
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--hide-scrollbars',
      `--user-data-dir=${join(dir, `profile-${name}`)}`,
      '--window-size=1000,1500',
      `--screenshot=${png}`,
      `file://${page}`,
    ];
    return new Promise((resolve, reject) => {
      execFile(chromium!, args, { timeout: 60_000 }, (err, _out, stderr) => {
        try {
          resolve(decodePng(readFileSync(png)));
        } catch (e) {
          reject(
            new Error(`no screenshot from chromium (${err?.message ?? 'exit 0'}): ${stderr}\n${(e as Error).message}`),
          );
        }
      });
    });
  }

  it('paints the verdicts in their colours, the chart and the loss row', async () => {
    const img = await screenshot('problem', renderHtml(reportFor('forwarding-loss-and-rate-limit')));
    expect(img.width).toBe(1000);
    const { counts, inked } = census(img, {
      problem: HTML_COLOURS.problem,
      info: HTML_COLOURS.info,
      ok: HTML_COLOURS.ok,
      median: HTML_COLOURS.median,
      box: HTML_COLOURS.box,
    });
    // a page, not a blank: text, table, chart
    expect(inked / (img.width * img.height)).toBeGreaterThan(0.03);
    // the Problem badge and border of forwarding-loss, the loss bars of hops 2-4 (red)
    expect(counts['problem']).toBeGreaterThan(500);
    // the Note badge of icmp-rate-limited
    expect(counts['info']).toBeGreaterThan(150);
    // hop 1's 0% loss bar in green
    expect(counts['ok']).toBeGreaterThan(300);
    // the chart's medians and boxes
    expect(counts['median']).toBeGreaterThan(100);
    expect(counts['box']).toBeGreaterThan(20);
  }, 90_000);

  it('a clean path paints no problem colour, and its loss row green', async () => {
    const img = await screenshot('clean', renderHtml(reportFor('clean')));
    const { counts, inked } = census(img, {
      problem: HTML_COLOURS.problem,
      warning: HTML_COLOURS.warning,
      ok: HTML_COLOURS.ok,
    });
    expect(inked / (img.width * img.height)).toBeGreaterThan(0.02);
    expect(counts['problem']).toBe(0);
    expect(counts['warning']).toBe(0);
    expect(counts['ok']).toBeGreaterThan(1000);
  }, 90_000);
});
