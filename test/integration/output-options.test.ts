/**
 * Output options end to end through the local stack (emulator -> ingest -> worker -> notify):
 * profiles by prefix, per-object metadata over them, every format, background and crop, decoded and
 * checked (size, format, background pixels, crop box), and every bad option ending `failed` with
 * INVALID_OUTPUT_OPTION and a failure webhook.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import type { OutputProfile } from '#core/output-options';
import type { JobResult, WebhookData } from '#core/types';
import { startLocalStack, type LocalStack } from '#local/stack';
import { subjectBox } from '#segment/outputs';

const DATA = join(import.meta.dirname, '../../../shared/data');
const PHOTO = join(DATA, 'ccp/images/0801.jpg'); // 550 x 822, one person, centred
const BACKGROUND = join(DATA, 'backgrounds/images');

const PROFILES: OutputProfile[] = [
  { prefix: 'incoming/shop/', options: { format: 'jpeg', background: '#ffffff', crop: '5%', 'max-size': '400' } },
  { prefix: 'incoming/webp/', options: { format: 'webp' } },
];

let stack: LocalStack;
let photo: Buffer;

beforeAll(async () => {
  stack = await startLocalStack({ batchSize: 4, threads: 2, provider: 'cpu', pollMs: 50, profiles: PROFILES });
  photo = await readFile(PHOTO);
}, 60_000);
afterAll(() => stack?.stop(), 60_000);

const put = (key: string, body: Buffer, metadata: Record<string, string> = {}) =>
  stack.store.put(stack.resources.bucket, key, body, { contentType: 'image/jpeg', metadata });

async function ended(keys: string[]): Promise<Map<string, { result: JobResult; webhook: WebhookData }>> {
  const deadline = Date.now() + 120_000;
  const byKey = new Map<string, WebhookData>();
  while (byKey.size < keys.length && Date.now() < deadline) {
    for (const d of stack.receiver.deliveries) {
      const data = (d.payload as { data: WebhookData }).data;
      if (keys.includes(data.source.key)) byKey.set(data.source.key, data);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  expect([...byKey.keys()].sort()).toEqual([...keys].sort());
  const results = new ObjectResultStore(stack.store, stack.resources.bucket);
  const out = new Map<string, { result: JobResult; webhook: WebhookData }>();
  for (const [key, webhook] of byKey) out.set(key, { result: (await results.read(key))!, webhook });
  return out;
}

const get = async (key: string | undefined) => {
  expect(key).toBeDefined();
  return (await stack.store.get(stack.resources.bucket, key!)).body;
};

async function decoded(bytes: Buffer) {
  const meta = await sharp(bytes).metadata();
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { data, ...info, format: meta.format };
}

async function maskOf(bytes: Buffer) {
  const { data, info } = await sharp(bytes).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  return { data, ...info };
}

/** Mean of a channel over the pixels where the mask is 0 (the background). */
function backgroundMean(img: { data: Buffer; channels: number }, mask: Buffer, channel: number): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) {
      sum += img.data[i * img.channels + channel]!;
      n++;
    }
  }
  expect(n).toBeGreaterThan(1000);
  return sum / n;
}

/** Mean absolute difference between horizontal neighbours over background pixels: low when blurred. */
function backgroundRoughness(img: { data: Buffer; channels: number; width: number }, mask: Buffer): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i + 1 < mask.length; i++) {
    if (mask[i] === 0 && mask[i + 1] === 0 && (i + 1) % img.width !== 0) {
      sum += Math.abs(img.data[i * img.channels]! - img.data[(i + 1) * img.channels]!);
      n++;
    }
  }
  return sum / n;
}

describe('output options through the local stack', () => {
  it('makes each format, background, crop and output choice, by prefix profile or object metadata', async () => {
    const bgKey = 'backgrounds/backdrop.jpg'; // outside incoming/: not a job itself; the worker may read backgrounds/
    await stack.store.put(stack.resources.bucket, bgKey, await readFile(join(BACKGROUND, 'IMG_20250319_023047_922.jpg')), { contentType: 'image/jpeg' });
    const uploads: [string, Record<string, string>][] = [
      ['incoming/plain/default.jpg', {}],
      ['incoming/shop/profile.jpg', {}],
      ['incoming/webp/profile.jpg', {}],
      ['incoming/shop/metadata-wins.jpg', { 'greenscreen-format': 'png', 'greenscreen-background': 'transparent', 'greenscreen-crop': 'none' }],
      ['incoming/plain/avif-cutout.jpg', { 'greenscreen-format': 'avif', 'greenscreen-quality': '50', 'greenscreen-outputs': 'cutout' }],
      ['incoming/plain/mask-only.jpg', { 'greenscreen-outputs': 'mask', 'greenscreen-max-size': '200' }],
      ['incoming/plain/blur.jpg', { 'greenscreen-format': 'jpeg', 'greenscreen-background': 'blur:12' }],
      ['incoming/plain/image.jpg', { 'greenscreen-format': 'webp', 'greenscreen-quality': '85', 'greenscreen-background': `image:${bgKey}` }],
      ['incoming/plain/crop-px.jpg', { 'greenscreen-crop': '20px' }],
    ];
    for (const [key, metadata] of uploads) await put(key, photo, metadata);
    const got = await ended(uploads.map(([k]) => k));
    for (const { result, webhook } of got.values()) {
      expect(result.status).toBe('succeeded');
      expect(result.subject).toBe('person');
      expect(webhook.output).toEqual(result.output);
    }
    const r = (key: string) => got.get(key)!.result;

    // Default: PNG RGBA + grey mask at the photo's size, transparent background (alpha 0, RGB 0).
    const plain = r('incoming/plain/default.jpg');
    expect(plain.output).toEqual({ format: 'png', background: { type: 'transparent' }, outputs: 'both' });
    const plainCut = await decoded(await get(plain.outputs.cutout));
    const plainMask = await maskOf(await get(plain.outputs.mask));
    expect(plainCut).toMatchObject({ format: 'png', width: 550, height: 822, channels: 4 });
    expect(backgroundMean(plainCut, plainMask.data, 3)).toBe(0);
    const subject = subjectBox(plainMask.data, 550, 822)!;

    // Profile incoming/shop/: JPEG on white, cropped to the subject + 5 %, long side 400.
    const shop = r('incoming/shop/profile.jpg');
    const margin = Math.round(0.05 * Math.max(subject.width, subject.height));
    const box = {
      left: Math.max(0, subject.left - margin),
      top: Math.max(0, subject.top - margin),
      width: Math.min(550, subject.left + subject.width + margin) - Math.max(0, subject.left - margin),
      height: Math.min(822, subject.top + subject.height + margin) - Math.max(0, subject.top - margin),
    };
    expect(shop.crop).toEqual(box);
    const shopCut = await decoded(await get(shop.outputs.cutout));
    const shopMask = await maskOf(await get(shop.outputs.mask));
    const scale = 400 / Math.max(box.width, box.height);
    expect(shopCut).toMatchObject({ format: 'jpeg', channels: 3, width: Math.round(box.width * scale), height: Math.round(box.height * scale) });
    expect(shop.outputSize).toEqual({ width: shopCut.width, height: shopCut.height });
    expect(shopMask).toMatchObject({ width: shopCut.width, height: shopCut.height });
    for (const c of [0, 1, 2]) expect(backgroundMean(shopCut, shopMask.data, c)).toBeGreaterThan(250);

    // Profile incoming/webp/: lossless WebP with alpha.
    const webp = await decoded(await get(r('incoming/webp/profile.jpg').outputs.cutout));
    expect(webp).toMatchObject({ format: 'webp', width: 550, height: 822, channels: 4 });
    // Lossless: the same pixels as the PNG wherever they are visible (libwebp may rewrite the RGB of alpha-0 pixels).
    let differing = 0;
    for (let i = 0; i < webp.data.length; i += 4) {
      if (plainCut.data[i + 3] === 0 && webp.data[i + 3] === 0) continue;
      for (let c = 0; c < 4; c++) if (webp.data[i + c] !== plainCut.data[i + c]) differing++;
    }
    expect(differing).toBe(0);

    // Metadata over the prefix profile: PNG, transparent, no crop, but the profile's max-size stays.
    const wins = r('incoming/shop/metadata-wins.jpg');
    expect(wins.output).toEqual({ format: 'png', background: { type: 'transparent' }, maxSize: 400, outputs: 'both' });
    expect(await decoded(await get(wins.outputs.cutout))).toMatchObject({ format: 'png', channels: 4, height: 400, width: Math.round(550 * (400 / 822)) });

    // AVIF, cut-out only.
    const avif = r('incoming/plain/avif-cutout.jpg');
    expect(avif.outputs.mask).toBeUndefined();
    expect(avif.outputs.cutout).toMatch(/cutout\.avif$/);
    expect(await decoded(await get(avif.outputs.cutout))).toMatchObject({ format: 'heif', width: 550, height: 822, channels: 4 });
    expect(got.get('incoming/plain/avif-cutout.jpg')!.webhook.urls.mask).toBeUndefined();

    // Mask only, scaled.
    const maskOnly = r('incoming/plain/mask-only.jpg');
    expect(maskOnly.outputs.cutout).toBeUndefined();
    expect(await maskOf(await get(maskOnly.outputs.mask))).toMatchObject({ width: Math.round(550 * (200 / 822)), height: 200, channels: 1 });

    // The photo blurred behind the subject: opaque JPEG whose background is much smoother than the photo's.
    const blur = await decoded(await get(r('incoming/plain/blur.jpg').outputs.cutout));
    const original = await decoded(photo);
    expect(blur).toMatchObject({ format: 'jpeg', width: 550, height: 822, channels: 3 });
    expect(backgroundRoughness(blur, plainMask.data)).toBeLessThan(0.5 * backgroundRoughness(original, plainMask.data));

    // An image from the bucket, scaled to cover: the background pixels are the backdrop's, not the photo's.
    const image = await decoded(await get(r('incoming/plain/image.jpg').outputs.cutout));
    const backdrop = await sharp(await get(bgKey)).resize(550, 822, { fit: 'cover' }).raw().toBuffer();
    expect(image).toMatchObject({ format: 'webp', width: 550, height: 822 });
    let diffBackdrop = 0;
    let diffPhoto = 0;
    let n = 0;
    for (let i = 0; i < plainMask.data.length; i += 7) {
      if (plainMask.data[i] !== 0) continue;
      diffBackdrop += Math.abs(image.data[i * image.channels]! - backdrop[i * 3]!);
      diffPhoto += Math.abs(image.data[i * image.channels]! - original.data[i * 3]!);
      n++;
    }
    expect(diffBackdrop / n).toBeLessThan(8);
    expect(diffPhoto / n).toBeGreaterThan(20);

    // Crop with a margin in pixels.
    const px = r('incoming/plain/crop-px.jpg');
    expect(px.crop).toEqual({
      left: Math.max(0, subject.left - 20),
      top: Math.max(0, subject.top - 20),
      width: Math.min(550, subject.left + subject.width + 20) - Math.max(0, subject.left - 20),
      height: Math.min(822, subject.top + subject.height + 20) - Math.max(0, subject.top - 20),
    });
  }, 180_000);

  it('ends every job with a bad option failed (INVALID_OUTPUT_OPTION) with a failure webhook that says why', async () => {
    const bad: [string, Record<string, string>, string][] = [
      ['format', { 'greenscreen-format': 'gif' }, 'Expected option format (from x-amz-meta-greenscreen-format) to be one of png, webp, avif, jpeg but received "gif"'],
      ['quality', { 'greenscreen-quality': '101' }, 'Expected option quality (from x-amz-meta-greenscreen-quality)'],
      ['background', { 'greenscreen-background': 'red' }, 'Expected option background (from x-amz-meta-greenscreen-background)'],
      ['crop', { 'greenscreen-crop': '-5%' }, 'Expected option crop (from x-amz-meta-greenscreen-crop)'],
      ['max-size', { 'greenscreen-max-size': 'big' }, 'Expected option max-size (from x-amz-meta-greenscreen-max-size)'],
      ['outputs', { 'greenscreen-outputs': 'none' }, 'Expected option outputs (from x-amz-meta-greenscreen-outputs)'],
      ['unknown', { 'greenscreen-colour': '#fff' }, 'named one of format, quality, background, crop, max-size, outputs but received "colour"'],
      ['jpeg-transparent', { 'greenscreen-format': 'jpeg' }, 'when format is jpeg (JPEG has no alpha channel) but received "transparent"'],
      ['missing-image', { 'greenscreen-background': 'image:backgrounds/nope.jpg' }, 'Expected option background (image:backgrounds/nope.jpg) to name an image in the bucket but s3://greenscreen-uploads/backgrounds/nope.jpg does not exist'],
      ['not-an-image', { 'greenscreen-background': 'image:backgrounds/notes.jpg' }, 'Expected option background (image:backgrounds/notes.jpg) to be a decodable image but s3://greenscreen-uploads/backgrounds/notes.jpg is not'],
    ];
    await stack.store.put(stack.resources.bucket, 'backgrounds/notes.jpg', 'just text', { contentType: 'image/jpeg' });
    for (const [name, metadata] of bad) await put(`incoming/bad-options/${name}.jpg`, photo, metadata);
    const got = await ended(bad.map(([n]) => `incoming/bad-options/${n}.jpg`));
    for (const [name, , message] of bad) {
      const { result, webhook } = got.get(`incoming/bad-options/${name}.jpg`)!;
      expect(result.status, name).toBe('failed');
      expect(result.error?.code, name).toBe('INVALID_OUTPUT_OPTION');
      expect(result.error?.message, name).toContain(message);
      expect(webhook.status).toBe('failed');
      expect(webhook.error).toEqual(result.error);
      expect(webhook.urls.cutout).toBeUndefined();
    }
    const delivery = stack.receiver.deliveries.find((d) => (d.payload as { data: WebhookData }).data.source.key === 'incoming/bad-options/format.jpg');
    expect(delivery?.type).toBe('job.failed');
  }, 180_000);

  it('returns the documented outcome for a photo with nobody in it: succeeded, subject "none", an empty mask, nothing of the photo', async () => {
    // A person-free street photo on which the model finds no confident region (functions/segmenter/subject.ts).
    const empty = await readFile(join(BACKGROUND, 'IMG_20250319_023047_925.jpg'));
    await put('incoming/nobody/plain.jpg', empty);
    await put('incoming/nobody/green.jpg', empty, { 'greenscreen-format': 'jpeg', 'greenscreen-background': '#00ff00', 'greenscreen-crop': '10%' });
    const got = await ended(['incoming/nobody/plain.jpg', 'incoming/nobody/green.jpg']);
    for (const { result, webhook } of got.values()) {
      expect(result).toMatchObject({ status: 'succeeded', subject: 'none' });
      expect(webhook.subject).toBe('none');
      expect(result.crop).toBeUndefined(); // nothing to crop to: the whole frame
    }
    const plain = got.get('incoming/nobody/plain.jpg')!.result;
    const mask = await maskOf(await get(plain.outputs.mask));
    expect(mask).toMatchObject({ width: plain.width, height: plain.height });
    expect(mask.data.every((v) => v === 0)).toBe(true);
    const cut = await decoded(await get(plain.outputs.cutout));
    expect(cut.data.every((v) => v === 0)).toBe(true); // alpha 0 and RGB 0 everywhere
    const green = await decoded(await get(got.get('incoming/nobody/green.jpg')!.result.outputs.cutout));
    expect(green).toMatchObject({ format: 'jpeg', width: plain.width, height: plain.height });
    for (let i = 0; i < green.data.length; i += 3) {
      expect(green.data[i]! < 8 && green.data[i + 1]! > 247 && green.data[i + 2]! < 8).toBe(true);
    }
  }, 180_000);
});
