// The batch layout is written twice, in C++ (src/cc/batch.h) and in TypeScript (src/batch.ts):
// the addon's own numbering must be the one unpackBatch reads.
import { describe, expect, it } from 'vitest';
import { addon } from '../src/addon.js';
import { EXT, META, SOURCES, unpackBatch } from '../src/batch.js';
import { SEND, SEND_RESULT } from '../src/send-batch.js';

describe('batch layout', () => {
  const layout = addon().batchLayout;

  it('numbers the meta slots as batch.ts reads them', () => {
    expect(layout.meta).toEqual({ ...META });
  });

  it('numbers the ext slots as batch.ts reads them', () => {
    expect(layout.ext).toEqual({ ...EXT });
  });

  it('numbers the send slots and results as send-batch.ts writes and reads them', () => {
    expect(layout.send).toEqual({ ...SEND });
    expect(layout.sendResult).toEqual({ ...SEND_RESULT });
  });

  it('numbers the sources as batch.ts reads them', () => {
    const { count, ...sources } = layout.sources;
    expect(count).toBe(SOURCES.length);
    expect(sources).toEqual(Object.fromEntries(SOURCES.map((name, i) => [name, i])));
  });

  it('reads a tcp completion written with the addon numbering', () => {
    const buffer = new Uint8Array([127, 0, 0, 1]).buffer;
    const meta = new Float64Array(layout.meta.count!);
    meta[layout.meta.family!] = 4;
    meta[layout.meta.fromOffset!] = 0;
    meta[layout.meta.dataOffset!] = 4;
    meta[layout.meta.dataLength!] = 0;
    meta[layout.meta.rxNs!] = 1234;
    const ext = new Float64Array(layout.ext.count!).fill(Number.NaN);
    ext[layout.ext.source!] = layout.sources.tcp!;
    ext[layout.ext.tcpId!] = 7;
    ext[layout.ext.tcpErrno!] = 111;
    const [p] = unpackBatch(buffer, meta, ext);
    expect(p).toMatchObject({ family: 4, source: 'tcp', tcpId: 7, tcpErrno: 111, rxNs: 1234 });
    expect([...p!.from]).toEqual([127, 0, 0, 1]);
  });
});
