/**
 * Tests and benchmarks share harness/ (#harness/*), not each other: a benchmark imports nothing
 * from the tests' own helpers (#test/*, test/), and nothing in harness/ imports vitest (the
 * benchmarks run under plain node, where importing vitest throws "failed to access its internal
 * state") or a test helper.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
/** Every .ts file under `dir`, sub-folders included (bench/faults/ holds one file per scenario). */
const tsFiles = (dir: string) =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
const imports = (file: string) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((m) => m[1]!);

describe('benchmarks and the harness', () => {
  it.each(tsFiles('bench'))('%s imports nothing from the tests', (bench) => {
    expect(imports(bench).filter((s) => s.startsWith('#test/') || s.includes('test/'))).toEqual([]);
  });

  it.each(tsFiles('harness'))('%s imports neither vitest nor a test helper', (file) => {
    expect(imports(file).filter((s) => s === 'vitest' || s.startsWith('#test/') || s.includes('test/'))).toEqual([]);
  });
});
