/** Every awkward input (bad images, odd key names, an SVG that references the network) through one stack at once. */
import { readFile } from 'node:fs/promises';
import { startLocalStack } from '#local/stack';
import { startHttpRecorder } from '#harness/http-recorder';
import { badInputs, photoPath, readPhoto } from '#harness/images';
import { deliveriesByKey, uploadAll, webhookData, type Upload } from '#harness/pipeline';
import { row, settle, type FaultBench, type ScenarioRow } from './scenario.ts';

export interface InputRow {
  input: string;
  expected: string;
  endedAs: string;
  ok: boolean;
  ended: boolean;
}

export async function badInputRun(bench: FaultBench): Promise<{ rows: InputRow[]; scenario: ScenarioRow; svgFetches: number }> {
  const started = performance.now();
  const probe = await startHttpRecorder();
  const stack = await startLocalStack(bench.stackDefaults);
  try {
    const inputs = await badInputs({ photo: await readPhoto(100), probeUrl: probe.origin });
    // Key names that break naive encoding or path handling, and what each must end as.
    const oddKeys: [key: string, expected: string][] = [
      ['incoming/odd names/my photo.jpg', 'succeeded'],
      ['incoming/a+b=c&d.jpg', 'succeeded'],
      ['incoming/100% real.jpg', 'succeeded'],
      ['incoming/фото ☃ 写真.jpg', 'succeeded'],
      ['incoming/.../three dots.jpg', 'succeeded'],
      // URL parsers collapse "." and ".." segments: no link could address its results.
      ['incoming/../escape.jpg', 'failed UNSUPPORTED_KEY'],
    ];
    const uploads: Upload[] = [
      ...inputs.map((i) => ({ key: `incoming/bad/${i.file}`, bytes: i.bytes })),
      ...(await Promise.all(oddKeys.map(async ([key], i) => ({ key, bytes: await readFile(photoPath(101 + i)) })))),
    ];
    const keys = uploads.map((u) => u.key);
    await uploadAll(stack.store, stack.resources.bucket, uploads);
    const audit = await settle(bench, stack, keys, 240_000);
    const byKey = deliveriesByKey(stack.receiver);
    const describe = (key: string) => {
      const r = audit.results.get(key);
      if (!r) return 'no result';
      return r.status === 'succeeded' ? `succeeded ${r.width}x${r.height}` : `failed ${r.error?.code}`;
    };
    const rows: InputRow[] = [
      ...inputs.map((i) => {
        const key = `incoming/bad/${i.file}`;
        const expected = i.expected.status === 'succeeded' ? `succeeded ${i.expected.width}x${i.expected.height}` : `failed ${i.expected.code}`;
        const r = audit.results.get(key);
        const messageOk =
          i.expected.status === 'succeeded' ||
          (typeof i.expected.message === 'string' ? r?.error?.message === i.expected.message : i.expected.message.test(r?.error?.message ?? ''));
        return { input: `${i.name} (${i.note})`, expected, endedAs: describe(key), ok: describe(key) === expected && messageOk, ended: !!r && byKey.has(key) };
      }),
      ...oddKeys.map(([key, expected]) => ({
        input: `key ${JSON.stringify(key.slice('incoming/'.length))}`,
        expected,
        endedAs: describe(key).replace(/ \d+x\d+$/, ''),
        ok: describe(key).replace(/ \d+x\d+$/, '') === expected && webhookData(byKey.get(key)![0]!).source.key === key,
        ended: audit.results.has(key) && byKey.has(key),
      })),
    ];
    return { rows, scenario: row('bad input, all at once', `${rows.length} awkward inputs + key names`, keys, audit, started), svgFetches: probe.requests.length };
  } finally {
    await stack.stop();
    await probe.close();
  }
}
