/**
 * Every awkward input at once through the whole local stack, mixed with good photos under awkward
 * key names: each ends in a correct result or in status "failed" with a specific code and message,
 * the worker never crashes, the good photos are not held up, and nothing an SVG references is
 * fetched. Then the CLI's output folders for awkward file names stay safe.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultKeys } from '#core/results';
import type { JobResult } from '#core/types';
import { startLocalStack, type LocalStack } from '#local/stack';
import { outputNames } from '#cli/files';
import { runOnce } from '#cli/run';
import { startHttpRecorder, type HttpRecorder } from '#harness/http-recorder';
import { badInputs, readPhoto, uprightReference, type BadInput, type RawImage } from '#harness/images';
import { auditRun, deliveriesByKey, uploadAll, waitForWebhooks, webhookData, type Audit } from '#harness/pipeline';

/** Good photos under key names that break naive encoding or path handling. */
const ODD_KEYS = [
  'incoming/odd names/my photo.jpg',
  'incoming/a+b=c&d.jpg',
  'incoming/100% real.jpg',
  'incoming/фото ☃ 写真.jpg',
  'incoming/.../three dots.jpg',
];
/** A good photo under a key no URL can address: refused with a reason, never processed. */
const DOT_SEGMENT_KEY = 'incoming/../escape.jpg';

let stack: LocalStack;
let probe: HttpRecorder;
let inputs: BadInput[];
let upright: RawImage;
let audit: Audit;
const keyOf = (i: BadInput) => `incoming/bad/${i.file}`;

beforeAll(async () => {
  probe = await startHttpRecorder();
  const photo = await readPhoto(100);
  [inputs, upright, stack] = await Promise.all([
    badInputs({ photo, probeUrl: probe.origin }),
    uprightReference(photo, 120),
    startLocalStack({ batchSize: 4, threads: 2, provider: 'cpu', pollMs: 100 }),
  ]);
  const good = await Promise.all(ODD_KEYS.map(async (key, i) => ({ key, bytes: await sharp(await readPhoto(101 + i)).resize(240).jpeg().toBuffer() })));
  const uploads = [...inputs.map((i) => ({ key: keyOf(i), bytes: i.bytes })), ...good, { key: DOT_SEGMENT_KEY, bytes: good[0]!.bytes }];
  await uploadAll(stack.store, stack.resources.bucket, uploads);
  await waitForWebhooks(stack.receiver, uploads.map((u) => u.key), 80_000);
  audit = await auditRun(stack, uploads.map((u) => u.key));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await probe?.close();
}, 60_000);

const resultFor = (key: string): JobResult => {
  const r = audit.results.get(key);
  if (!r) throw new Error(`no result for ${key}`);
  return r;
};

describe('bad input through the stack, all at once', () => {
  it('loses nothing and leaves every result set whole', () => {
    expect(audit.lost).toEqual([]);
    expect(audit.duplicates).toEqual([]);
    expect(audit.invalid).toEqual([]);
    expect(audit.webhookProblems).toEqual([]);
    expect(stack.receiver.rejected).toBe(0);
  });

  it('ends each bad input as expected: a correct result, or failed with a specific code and message', () => {
    for (const input of inputs) {
      const r = resultFor(keyOf(input));
      const { expected } = input;
      if (expected.status === 'succeeded') {
        expect({ name: input.name, status: r.status, width: r.width, height: r.height, error: r.error }).toEqual({
          name: input.name,
          status: 'succeeded',
          width: expected.width,
          height: expected.height,
          error: undefined,
        });
      } else {
        expect({ name: input.name, status: r.status, code: r.error?.code }).toEqual({ name: input.name, status: 'failed', code: expected.code });
        if (typeof expected.message === 'string') expect(r.error?.message, input.name).toBe(expected.message);
        else expect(r.error?.message, input.name).toMatch(expected.message);
      }
    }
  });

  it('tells the user: a job.failed webhook carries the code and message', () => {
    const byKey = deliveriesByKey(stack.receiver);
    for (const input of inputs.filter((i) => i.expected.status === 'failed')) {
      const d = byKey.get(keyOf(input))![0]!;
      expect(d.type).toBe('job.failed');
      expect(webhookData(d).error).toEqual(resultFor(keyOf(input)).error);
    }
  });

  it('processes the good photos under odd key names, with results under the exact key', async () => {
    for (const key of ODD_KEYS) {
      const r = resultFor(key);
      expect(r.status).toBe('succeeded');
      expect(r.source.key).toBe(key);
      expect(r.outputs).toEqual(resultKeys(key, r.jobId));
      expect(webhookData(deliveriesByKey(stack.receiver).get(key)![0]!).source.key).toBe(key);
    }
  });

  it('refuses a key with a ".." segment with UNSUPPORTED_KEY and tells the user', () => {
    const r = resultFor(DOT_SEGMENT_KEY);
    expect([r.status, r.error?.code]).toEqual(['failed', 'UNSUPPORTED_KEY']);
    expect(r.error?.message).toContain('"incoming/../escape.jpg"');
    const d = deliveriesByKey(stack.receiver).get(DOT_SEGMENT_KEY)![0]!;
    expect([d.type, webhookData(d).error?.code]).toEqual(['job.failed', 'UNSUPPORTED_KEY']);
  });

  it('gives working presigned URLs for keys with spaces, +, %, unicode and dots', async () => {
    for (const key of ODD_KEYS) {
      const data = (deliveriesByKey(stack.receiver).get(key)![0]!.payload as { data: { urls: { cutout: string } } }).data;
      const res = await fetch(data.urls.cutout);
      expect(res.status, key).toBe(200);
      expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).format).toBe('png');
    }
  });

  it('outputs EXIF-rotated photos upright: same size, same pixels, same mask as orientation 1', async () => {
    const get = async (key: string) => (await stack.store.get(stack.resources.bucket, key)).body;
    const decoded = async (n: number) => {
      const r = resultFor(`incoming/bad/orientation-${n}.jpg`);
      const cutout = await sharp(await get(r.outputs.cutout!)).raw().toBuffer({ resolveWithObject: true });
      return { r, cutout };
    };
    const reference = await decoded(1);
    for (let n = 1; n <= 8; n++) {
      const { r, cutout } = await decoded(n);
      expect([r.width, r.height, cutout.info.channels]).toEqual([upright.width, upright.height, 4]);
      let diff = 0;
      let kept = 0;
      let both = 0;
      let either = 0;
      for (let p = 0; p < upright.width * upright.height; p++) {
        const a = cutout.data[p * 4 + 3]!;
        const a1 = reference.cutout.data[p * 4 + 3]!;
        if (a >= 128 && a1 >= 128) both++;
        if (a >= 128 || a1 >= 128) either++;
        if (a === 0) continue; // background pixels are blanked in the cut-out
        kept++;
        for (let c = 0; c < 3; c++) diff += Math.abs(cutout.data[p * 4 + c]! - upright.data[p * 3 + c]!);
      }
      expect(kept, `orientation ${n}: some person pixels`).toBeGreaterThan(0);
      expect(diff / (kept * 3), `orientation ${n}: colour vs the upright photo`).toBeLessThan(6);
      expect(both / either, `orientation ${n}: mask IoU vs orientation 1`).toBeGreaterThan(0.9);
    }
  });

  it('never fetched anything an SVG references', () => {
    expect(probe.requests).toEqual([]);
  });

  it('kept the worker alive: a photo uploaded afterwards still succeeds', async () => {
    const key = 'incoming/after-the-storm.jpg';
    await stack.store.put(stack.resources.bucket, key, await sharp(await readPhoto(110)).resize(200).jpeg().toBuffer(), { contentType: 'image/jpeg' });
    await waitForWebhooks(stack.receiver, [key], 30_000);
    expect(webhookData(deliveriesByKey(stack.receiver).get(key)![0]!).status).toBe('succeeded');
  }, 40_000);
});

describe('CLI output folders for awkward file names', () => {
  it.each([
    [['/in/my photo.jpg', '/in/a+b.jpg', '/in/100%.jpg', '/in/фото ☃.jpg']],
    [['/in/../etc/passwd.jpg', '/in/..jpg', '/in/...jpg', '/in/.hidden.jpg']],
    [['/in/a/x.jpg', '/in/b/x.jpg', '/in/x.png', '/in/c:d*e?.jpg', '/in/tab\there.jpg']],
  ])('outputNames(%j) are unique, plain folder names', (files) => {
    const names = [...outputNames(files).values()];
    expect(new Set(names).size).toBe(files.length);
    for (const name of names) {
      expect(name).not.toMatch(/[\\/:*?"<>|\x00-\x1f]/);
      expect(name).not.toMatch(/^\./);
      expect(resolve('/out', name)).toBe(join('/out', name)); // stays directly under the output folder
    }
  });

  it('greenscreen run writes one folder per photo inside --out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'greenscreen-odd-'));
    try {
      const inputDir = join(dir, 'in');
      const outDir = join(dir, 'out');
      await mkdir(join(inputDir, 'sub'), { recursive: true });
      const files = ['my photo.jpg', 'a+b.jpg', '100%.jpg', 'фото ☃.jpg', 'sub/my photo.jpg'];
      await Promise.all(
        files.map(async (f, i) => writeFile(join(inputDir, f), await sharp(await readPhoto(120 + i)).resize(160).jpeg().toBuffer())),
      );

      const summary = await runOnce({ inputDir, outDir, quiet: true, contactSheet: false, batchSize: 4, threads: 2, provider: 'cpu', timeoutSeconds: 60 });

      expect(summary).toMatchObject({ total: 5, succeeded: 5, failed: 0, lost: 0 });
      const folders = (await readdir(outDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
      expect(folders.sort()).toEqual(['100%', 'a+b', 'my photo', 'my photo-2', 'фото ☃'].sort());
      for (const f of folders) expect((await readdir(join(outDir, f))).sort()).toEqual(['cutout.png', 'mask.png', 'result.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
