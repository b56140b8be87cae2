/**
 * A real photo through the real pipeline: emulator -> S3 event -> ingest -> worker (shipped
 * Tiramisu) -> notify -> signature-verifying receiver.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '#core/types';
import { startLocalStack, type LocalStack } from '#local/stack';
import { scoreMask } from '../../functions/cli/metrics.ts';
import { s3EventRecord } from '#local/s3-event-source';

const CCP = join(import.meta.dirname, '../../../shared/data/ccp');
const IDS = ['0801', '0802', '0803'];
const IOU_FLOOR = 0.8;

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ batchSize: 2, threads: 2, provider: 'cpu', pollMs: 100 });
}, 60_000);
afterAll(() => stack?.stop(), 60_000);

/** Pixels as stored: sharp would convert a grey PNG to sRGB on raw output unless told not to. */
async function raw(png: Buffer) {
  const meta = await sharp(png).metadata();
  const img = meta.channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png);
  return img.raw().toBuffer({ resolveWithObject: true });
}

describe('local pipeline, end to end', () => {
  it('turns uploaded photos into masks, cut-outs, result.json and verified webhooks', async () => {
    // Arrange + Act: upload like a customer would.
    for (const id of IDS) {
      await stack.store.put(stack.resources.bucket, `incoming/${id}.jpg`, await readFile(join(CCP, 'images', `${id}.jpg`)), { contentType: 'image/jpeg' });
    }
    const deliveries = await stack.receiver.waitFor(IDS.length, 90_000);

    // Assert: one verified webhook per photo.
    expect(stack.receiver.rejected).toBe(0);
    expect(deliveries.map((d) => d.type)).toEqual(IDS.map(() => 'job.succeeded'));
    const ious: number[] = [];
    for (const id of IDS) {
      const result = JSON.parse((await stack.store.get(stack.resources.bucket, `results/incoming/${id}.jpg/result.json`)).body.toString()) as JobResult;
      const meta = await sharp(join(CCP, 'images', `${id}.jpg`)).metadata();
      expect(result).toMatchObject({ status: 'succeeded', width: meta.width, height: meta.height, model: { name: 'tiramisu' } });
      expect(Object.keys(result.timingsMs)).toEqual(expect.arrayContaining(['download', 'decode', 'inference', 'encode', 'upload']));
      const mask = await raw((await stack.store.get(stack.resources.bucket, result.outputs.mask!)).body);
      const cutout = await raw((await stack.store.get(stack.resources.bucket, result.outputs.cutout!)).body);
      expect(mask.info).toMatchObject({ width: meta.width, height: meta.height, channels: 1 });
      expect(cutout.info).toMatchObject({ width: meta.width, height: meta.height, channels: 4 });
      const alpha = Buffer.alloc(mask.data.length);
      for (let i = 0; i < alpha.length; i++) alpha[i] = cutout.data[i * 4 + 3]!;
      expect(alpha.equals(mask.data)).toBe(true);
      const truth = await sharp(join(CCP, 'masks', `${id}.png`)).extractChannel(0).raw().toBuffer();
      ious.push(scoreMask(mask.data, truth, meta.width!, meta.height!).iou);
    }
    expect(ious.reduce((a, b) => a + b) / ious.length).toBeGreaterThan(IOU_FLOOR);
  }, 120_000);

  it('signs webhooks per Standard Webhooks with presigned, short-lived output URLs', async () => {
    const d = stack.receiver.deliveries[0]!;
    const data = (d.payload as { data: { urls: Record<string, string>; outputs: Record<string, string> } }).data;
    expect(d.webhookId).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(data.urls.mask).toContain('X-Amz-Signature=');
    const png = Buffer.from(await (await fetch(data.urls.mask!)).arrayBuffer());
    expect((await sharp(png).metadata()).format).toBe('png');
    // Independent check of the signature scheme with the library a customer would use.
    const wh = new Webhook(stack.webhookSecret);
    const body = JSON.stringify(d.payload);
    const ts = new Date();
    const sig = wh.sign(d.webhookId, ts, body);
    expect(() => wh.verify(body, { 'webhook-id': d.webhookId, 'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)), 'webhook-signature': sig })).not.toThrow();
  });

  it('creates no second job for a re-delivered S3 event', async () => {
    const key = 'incoming/dup.jpg';
    await stack.s3Events.stop(); // deliver events by hand from here on
    const { etag } = await stack.store.put(stack.resources.bucket, key, await readFile(join(CCP, 'images', '0804.jpg')), { contentType: 'image/jpeg' });
    const event = { Records: [s3EventRecord(stack.resources.bucket, { key, etag, size: 1 })] };
    const before = stack.worker!.worker.stats.received;
    await stack.ingest(event);
    await stack.ingest(event);
    const all = await stack.receiver.waitFor(IDS.length + 1, 60_000);
    await stack.ingest(event); // and once more after it finished
    await new Promise((r) => setTimeout(r, 1500));
    expect(all.filter((d) => (d.payload as { data: { source: { key: string } } }).data.source.key === key)).toHaveLength(1);
    expect(stack.receiver.duplicates).toBe(0);
    expect(stack.worker!.worker.stats.received - before).toBe(1);
  }, 90_000);
});
