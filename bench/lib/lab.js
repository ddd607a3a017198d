// Loads the netns lab (test/lab/*.ts, another package's TypeScript) into plain ESM JavaScript without a build
// step: the TypeScript compiler already in the workspace strips the types (transpileModule) into
// bench/.build/lab/, next to a copy of wire.c (the lab compiles its forwarder from the file beside lab.js).
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..');
const SRC = join(ROOT, 'test', 'lab');
const OUT = join(ROOT, 'bench', '.build', 'lab');

let loaded;

export async function loadLab() {
  if (loaded) return loaded;
  const ts = (await import('typescript')).default;
  mkdirSync(OUT, { recursive: true });
  for (const f of ['lab.ts', 'pcap.ts']) {
    const src = readFileSync(join(SRC, f), 'utf8');
    const out = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: f,
    });
    writeFileSync(join(OUT, f.replace(/\.ts$/, '.js')), out.outputText);
  }
  copyFileSync(join(SRC, 'wire.c'), join(OUT, 'wire.c'));
  const lab = await import(pathToFileURL(join(OUT, 'lab.js')).href);
  const pcap = await import(pathToFileURL(join(OUT, 'pcap.js')).href);
  loaded = { ...lab, ...pcap };
  return loaded;
}
