/**
 * The house plan of lib/ (README "Layout"): imports flow one way,
 * core → the API areas (cluster, pool, image, mirror) → dr → cli, demo, lab,
 * and no module is part of a runtime import cycle.
 *
 * The runtime graph is read the way Node will see it: each file is transpiled
 * on its own (TypeScript drops imports used only as types, as the build does)
 * and its `require("./…")` calls are the edges. Type-only imports may point
 * anywhere except up the layers (a type from cli/ in an area, say).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..', '..', '..');
const lib = path.join(root, 'lib');

/** Layer of each top-level folder of lib/. */
const LAYERS: Record<string, number> = { core: 0, cluster: 1, pool: 1, image: 1, mirror: 1, dr: 2, cli: 3, demo: 3, lab: 3 };

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const files = walk(lib).map((f) => path.relative(lib, f).split(path.sep).join('/'));

function resolve(from: string, spec: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  return [`${base}.ts`, `${base}/index.ts`].find((c) => files.includes(c));
}

/** Relative imports of a file: the runtime ones (what the transpiled file requires) and all of them. */
function imports(file: string): { runtime: string[]; all: string[] } {
  const text = fs.readFileSync(path.join(lib, file), 'utf8');
  const js = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const runtime = [...js.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)].map((m) => m[1]);
  const all = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.'));
  const res = (specs: string[]): string[] =>
    [...new Set(specs)].map((s) => {
      const r = resolve(file, s);
      if (r === undefined) throw new Error(`${file}: cannot resolve '${s}'`);
      return r;
    });
  return { runtime: res(runtime), all: res(all) };
}

const graph = new Map(files.map((f) => [f, imports(f)]));

/** Strongly connected components of more than one file (or a file that requires itself): Tarjan's. */
export function cycles(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

// index.ts (the public API) sits above dr and below cli / demo / lab, which may use it as a user would.
const layer = (file: string): number => (file.includes('/') ? LAYERS[file.split('/')[0]] : 2.5);

describe('lib/ layout', () => {
  test('every file lives in a known area folder (or is an entry point index.ts)', () => {
    const stray = files.filter((f) => (f.includes('/') ? LAYERS[f.split('/')[0]] === undefined : f !== 'index.ts'));
    expect(stray).toEqual([]);
  });

  test('the cycle finder finds a cycle (a → b → c → a) and a self-import, and passes a chain', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['d']],
      ['e', ['a']],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c'], ['d']]);
    expect(cycles(new Map([['x', ['y']], ['y', []]]))).toEqual([]);
  });

  test('no runtime import cycle', () => {
    const found = cycles(new Map([...graph].map(([f, i]) => [f, i.runtime])));
    const report = found.map((c) => c.join(' ↔ ')).join('\n');
    console.log(`lib/: ${files.length} files, ${[...graph.values()].reduce((n, i) => n + i.runtime.length, 0)} runtime imports, ` +
      `${found.length} runtime cycle(s)${report ? `:\n${report}` : ''}`);
    expect(report).toBe('');
  });

  test('imports flow one way: core → areas → dr → cli / demo / lab (type imports too)', () => {
    const up: string[] = [];
    for (const [f, i] of graph) for (const t of i.all) if (layer(t) > layer(f)) up.push(`${f} → ${t}`);
    expect(up).toEqual([]);
  });

  test('core imports nothing outside core', () => {
    const out: string[] = [];
    for (const [f, i] of graph) if (f.startsWith('core/')) for (const t of i.all) if (!t.startsWith('core/')) out.push(`${f} → ${t}`);
    expect(out).toEqual([]);
  });

  test('only core/native.ts loads or declares the addon (one declaration file; the plain-data shapes beside it)', () => {
    const text = (f: string): string => fs.readFileSync(path.join(lib, f), 'utf8');
    const loaders = files.filter((f) => f !== 'core/native.ts' && /\bnativeArea\b|require\(file\)|node-gyp-build/.test(text(f)));
    expect(loaders).toEqual([]);
    const declared = files.filter(
      (f) => f !== 'core/native.ts' && f !== 'core/native-shapes.ts' && /^(export )?(interface|declare class) Native[A-Z]\w* /m.test(text(f)),
    );
    expect(declared).toEqual([]);
    // core/native-shapes.ts holds data only: no class, no method or function signature.
    const shapes = text('core/native-shapes.ts');
    expect(shapes).not.toMatch(/declare class|^\s+\w+\??\(|=>/m);
  });

  test('no source file in lib/ or native/ is over 600 lines', () => {
    const big: string[] = [];
    const check = (dir: string, exts: RegExp): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) check(p, exts);
        else if (exts.test(e.name)) {
          const n = fs.readFileSync(p, 'utf8').split('\n').length - 1;
          if (n > 600) big.push(`${path.relative(root, p)}: ${n}`);
        }
      }
    };
    check(lib, /\.ts$/);
    check(path.join(root, 'native'), /\.(cc|h)$/);
    expect(big).toEqual([]);
  });
});
