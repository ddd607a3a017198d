// One esbuild set-up for both bundles (this package's daemon, and mtr-ts's front-end): Node 20 ESM,
// the workspace's TypeScript sources (the mtr-ts-source condition), every package inlined unless
// named external. The file is written to a temporary name, then renamed: a process starting
// meanwhile (tests run while a pack re-bundles) reads the old file or the new one, never half of one.
import { build } from 'esbuild';
import { renameSync, writeFileSync } from 'node:fs';

/** entry: a file path, or { contents, resolveDir } for an entry written inline. */
export async function bundleTo(outfile, entry, extra = {}) {
  const input = typeof entry === 'string' ? { entryPoints: [entry] } : { stdin: { ...entry, sourcefile: 'entry.ts', loader: 'ts' } };
  const result = await build({
    ...input,
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['mtr-ts-source'],
    packages: 'bundle',
    write: false,
    logLevel: 'warning',
    legalComments: 'none',
    ...extra,
  });
  for (const f of result.outputFiles) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
}
