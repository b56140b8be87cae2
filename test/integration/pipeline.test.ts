/**
 * A real photo through the real pipeline: emulator -> S3 event -> ingest -> worker (shipped
 * Tiramisu) -> notify -> signature-verifying receiver.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '#core/types';
import { startLocalStack, type LocalStack } from '#local/stack';
import type { ReceivedDelivery } from '#local/webhook-receiver';
import { scoreMask } from '#evaluation/metrics';
import { s3EventRecord } from '#local/s3-event-source';

const CCP = join(import.meta.dirname, '../../../shared/data/ccp');
const IDS = ['0801', '0802', '0803'];
const IOU_FLOOR = 0.8;

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ batchSize: 2, threads: 2, provider: 'cpu', pollMs: 100 });
}, 60_000);
afterAll(() => stack?.stop(), 60_000);

const sourceKeyOf = (d: ReceivedDelivery) => (d.payload as { data: { source: { key: string } } }).data.source.key;

/**
 * The deliveries for these source keys, once each has one (each test waits for its own photos, so
 * tests do not depend on each other's order or on how many deliveries came before).
 */
async function deliveriesFor(keys: readonly string[], timeoutMs: number): Promise<ReceivedDelivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = stack.receiver.deliveries.filter((d) => keys.includes(sourceKeyOf(d)));
    if (keys.every((k) => mine.some((d) => sourceKeyOf(d) === k))) return mine;
    if (Date.now() > deadline) {
      throw new Error(`Expected a webhook delivery for each of ${keys.join(', ')} within ${timeoutMs} ms but received them for ${mine.map(sourceKeyOf).join(', ') || 'none'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pixels as stored: sharp would convert a grey PNG to sRGB on raw output unless told not to. */
async function raw(png: Buffer) {
  const meta = await sharp(png).metadata();
  const img = meta.channels === 1 ? sharp(png).toColourspace('b-w') : sharp(png);
  return img.raw().toBuffer({ resolveWithObject: true });
}

describe('local pipeline, end to end', () => {
  it('turns uploaded photos into masks, cut-outs, result.json and webhooks signed per Standard Webhooks', async () => {
    // Arrange + Act: upload like a customer would.
    const keys = IDS.map((id) => `incoming/${id}.jpg`);
    const rejectedBefore = stack.receiver.rejected;
    for (const id of IDS) {
      await stack.store.put(stack.resources.bucket, `incoming/${id}.jpg`, await readFile(join(CCP, 'images', `${id}.jpg`)), { contentType: 'image/jpeg' });
    }
    const deliveries = await deliveriesFor(keys, 90_000);

    // Assert: one webhook per photo, whose signature verifies, with the library a customer would
    // use, on the headers and the raw body the receiver got.
    expect(deliveries.map((d) => [sourceKeyOf(d), d.type]).sort()).toEqual(keys.map((k) => [k, 'job.succeeded']));
    expect(stack.receiver.rejected - rejectedBefore).toBe(0);
    const wh = new Webhook(stack.webhookSecret);
    for (const d of deliveries) {
      expect(d.webhookId).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(d.raw.headers).toMatchObject({ 'webhook-id': d.webhookId, 'content-type': 'application/json' });
      expect(d.raw.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$/);
      expect(wh.verify(d.raw.body, d.raw.headers)).toEqual(d.payload);
    }
    // Presigned, short-lived output URLs that work.
    const data = (deliveries[0]!.payload as { data: { urls: Record<string, string> } }).data;
    expect(data.urls.mask).toContain('X-Amz-Signature=');
    const png = Buffer.from(await (await fetch(data.urls.mask!)).arrayBuffer());
    expect((await sharp(png).metadata()).format).toBe('png');
    // The outputs themselves.
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

  it('creates no second job for a re-delivered S3 event', async () => {
    // Arrange: a photo the stack's own S3 event source will not pick up (its version is marked
    // seen before the upload: a single PUT's ETag is the MD5 of its bytes), so events are by hand
    // and the source keeps running for the other tests.
    const key = 'incoming/dup.jpg';
    const bytes = await readFile(join(CCP, 'images', '0804.jpg'));
    const md5 = createHash('md5').update(bytes).digest('hex');
    stack.s3Events.markSeen(key, md5);
    const { etag } = await stack.store.put(stack.resources.bucket, key, bytes, { contentType: 'image/jpeg' });
    expect(etag).toBe(md5);
    const event = { Records: [s3EventRecord(stack.resources.bucket, { key, etag, size: 1 })] };
    const before = stack.worker!.worker.stats.received;
    const duplicatesBefore = stack.receiver.duplicates;
    // Act
    await stack.ingest(event);
    await stack.ingest(event);
    await deliveriesFor([key], 60_000);
    await stack.ingest(event); // and once more after it finished
    await new Promise((r) => setTimeout(r, 1500));
    // Assert
    expect(stack.receiver.deliveries.filter((d) => sourceKeyOf(d) === key)).toHaveLength(1);
    expect(stack.receiver.duplicates - duplicatesBefore).toBe(0);
    expect(stack.worker!.worker.stats.received - before).toBe(1);
  }, 90_000);
});
