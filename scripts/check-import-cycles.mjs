#!/usr/bin/env node
// Fails when the runtime imports of src/ or packages/devserver/src form a cycle (type-only imports do
// not count: they vanish at run time). Run by `npm run lint`.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOTS = ['src', 'packages/devserver/src'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) files.push(resolve(p));
  }
};
for (const r of ROOTS) if (existsSync(r)) walk(r);

// `import x from './y.js'`, `export ... from './y.js'`, `import './y.js'`, not `import type` / `export type`.
const IMPORT = /^\s*(import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;
const graph = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(f), m[2]).replace(/\.js$/, '.ts');
    if (existsSync(target)) deps.add(target);
    else if (existsSync(join(target.replace(/\.ts$/, ''), 'index.ts')))
      deps.add(join(target.replace(/\.ts$/, ''), 'index.ts'));
  }
  graph.set(f, [...deps]);
}

// Tarjan's strongly connected components: any component of two or more files is a cycle.
let index = 0;
const stack = [];
const on = new Set();
const idx = new Map();
const low = new Map();
const cycles = [];
const visit = (v) => {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp);
  }
};
for (const f of graph.keys()) if (!idx.has(f)) visit(f);

if (cycles.length > 0) {
  console.error(`import cycles (runtime imports) in ${ROOTS.join(', ')}:`);
  for (const c of cycles)
    console.error(
      `  ${c
        .map((f) => relative(process.cwd(), f))
        .sort()
        .join(' <-> ')}`,
    );
  console.error(
    'move the shared piece (or the shared types, imported with `import type`) into a lower module',
  );
  process.exit(1);
}
console.log(`no import cycles among ${graph.size} modules of ${ROOTS.join(', ')}`);
