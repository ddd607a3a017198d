// The HTTP face: /metrics, /-/healthy, /-/ready, POST|PUT /-/reload, /probe?target=&module=, and a
// small index page. node:http only; every handler answers, whatever the request.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Exporter } from './exporter.js';

/** blackbox_exporter's --timeout-offset: the probe ends this much before Prometheus gives up. */
export const TIMEOUT_OFFSET = 0.5;
/** Without Prometheus's timeout header (e.g. curl), a probe traces this long. */
export const DEFAULT_PROBE_SECONDS = 5;
const MAX_PROBE_SECONDS = 60;

export function probeSeconds(header: string | string[] | undefined): number {
  const v = Number(Array.isArray(header) ? header[0] : header);
  if (!Number.isFinite(v) || v <= 0) return DEFAULT_PROBE_SECONDS;
  return Math.min(MAX_PROBE_SECONDS, Math.max(0.5, v - TIMEOUT_OFFSET));
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const INDEX = `<html><head><title>mtr-ts-exporter</title></head><body>
<h1>mtr-ts-exporter</h1>
<p><a href="/metrics">Metrics</a> &middot; <a href="/-/healthy">Health</a> &middot; <a href="/-/ready">Ready</a></p>
<p>Blackbox-style: <code>/probe?target=HOST&amp;module=icmp</code></p>
</body></html>
`;

export function handler(exp: Exporter) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    try {
      switch (url.pathname) {
        case '/metrics':
          if (!get) return send(res, 405, 'use GET\n');
          return send(res, 200, await exp.render(), exp.contentType);
        case '/-/healthy':
          if (!get) return send(res, 405, 'use GET\n');
          return send(res, 200, 'mtr-ts-exporter is Healthy.\n');
        case '/-/ready':
          if (!get) return send(res, 405, 'use GET\n');
          return exp.ready()
            ? send(res, 200, 'mtr-ts-exporter is Ready.\n')
            : send(res, 503, 'mtr-ts-exporter is not ready.\n');
        case '/-/reload': {
          if (method !== 'POST' && method !== 'PUT') return send(res, 405, 'use POST or PUT\n');
          const r = await exp.reload();
          return send(res, r.ok ? 200 : 500, r.message + '\n');
        }
        case '/probe': {
          if (!get) return send(res, 405, 'use GET\n');
          const target = url.searchParams.get('target');
          if (target === null || target === '') return send(res, 400, 'target parameter is missing\n');
          const module = url.searchParams.get('module') ?? 'icmp';
          const r = await exp.probe(target, module, probeSeconds(req.headers['x-prometheus-scrape-timeout-seconds']));
          return send(res, r.status, r.body, r.status === 200 ? exp.contentType : 'text/plain; charset=utf-8');
        }
        case '/':
          return send(res, 200, INDEX, 'text/html; charset=utf-8');
        default:
          return send(res, 404, 'not found\n');
      }
    } catch (e) {
      if (!res.headersSent) send(res, 500, `${(e as Error).message}\n`);
      else res.destroy();
    }
  };
}

/** `host:port`, `[v6]:port` or `:port` (all addresses). */
export function parseListenAddress(s: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) throw new Error(`--web.listen-address: '${s}' is not HOST:PORT`);
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

export function listen(exp: Exporter, address: string): Promise<Server> {
  const { host, port } = parseListenAddress(address);
  const server = createServer((req, res) => void handler(exp)(req, res));
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
