/**
 * The benchmarks run under plain node, where importing vitest throws ("failed to access its
 * internal state"). Every test helper a benchmark reaches must therefore stay free of vitest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');

/** Test helpers imported by `file`, directly or through other helpers. */
function helpersReachedFrom(file: string, seen = new Set<string>()): Set<string> {
  const src = readFileSync(file, 'utf8');
  const specs = [...src.matchAll(/from '(#test\/[\w-]+|\.\/[\w-]+\.ts)'/g)].map((m) => m[1]!);
  for (const spec of specs) {
    const path = spec.startsWith('#test/') ? join(ROOT, 'test/helpers', `${spec.slice(6)}.ts`) : join(file, '..', spec);
    if (!path.includes('/test/helpers/') || seen.has(path)) continue;
    seen.add(path);
    helpersReachedFrom(path, seen);
  }
  return seen;
}

describe('benchmarks', () => {
  const benches = readdirSync(join(ROOT, 'bench'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.includes('node_modules'));

  it.each(benches)('%s reaches no test helper that imports vitest', (bench) => {
    const offenders = [...helpersReachedFrom(join(ROOT, 'bench', bench))].filter((h) => /from 'vitest'/.test(readFileSync(h, 'utf8')));
    expect(offenders.map((h) => h.slice(ROOT.length + 1))).toEqual([]);
  });
});
