#!/usr/bin/env node
// Ping one host: one probe a second (or every --interval seconds), like ping(8).
//   node ping.mjs HOST [--count N] [--interval S] [--packet PATH]
import { MtrPacket } from '@mtr-ts/client';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { count: { type: 'string', default: '4' }, interval: { type: 'string', default: '1' }, packet: { type: 'string' } },
});
const host = positionals[0] ?? 'localhost';
const mtr = await MtrPacket.open({ command: values.packet });
try {
  let answered = 0;
  const count = Number(values.count);
  for (let i = 1; i <= count; i++) {
    const r = await mtr.probe(host, { timeout: 2 });
    if (r.kind === 'reply') {
      answered++;
      console.log(`reply from ${r.address}: seq=${i} time=${(r.rtt / 1000).toFixed(3)} ms`);
    } else if (r.kind === 'refused') {
      console.log(`seq=${i}: ${r.message}`);
    } else {
      console.log(`seq=${i}: ${r.kind}${'reason' in r ? ` (${r.reason})` : ''}`);
    }
    if (i < count) await new Promise((res) => setTimeout(res, Number(values.interval) * 1000));
  }
  console.log(`${count} probes, ${answered} replies`);
  process.exitCode = answered > 0 ? 0 : 1;
} finally {
  await mtr.close();
}
