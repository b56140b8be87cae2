/**
 * The page in a real browser (Debian's Chromium, headless, no GPU, network beyond 127.0.0.1
 * aborted) against a real local stack: the model loads and runs in the page, its mask matches
 * onnxruntime-node's, an upload becomes a succeeded job with its images and a verified webhook,
 * a corrupt file shows its failure code, and the page works from the keyboard. A screenshot of
 * each step goes to test-output/browser/ (kept, whatever the outcome).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INPUT_PREFIX } from '#core/resources';
import { startLocalStack, type LocalStack } from '#local/stack';
import { SourceReads, startStackWebServer, startWebServer, type WebServer } from '#local/web-server';
import { createModelSession, type ModelSession } from '#segment/model-session';
import type { ModelCard } from '#segmenter/card';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { launchBrowser, Screenshots, type BrowserSession } from '#harness/browser';
import { photoPath } from '#harness/images';
import { buildWebBundle, contentTypeOf, writeWebBundle } from '#web/build';
import { compareMasks, compareProbabilities, segmentInNode } from '#harness/mask-parity';

const SHOTS = join(import.meta.dirname, '../../test-output/browser');
const shots = new Screenshots(SHOTS);

interface PagePhoto {
  name: string;
  status: 'working' | 'done' | 'failed';
  key?: string;
  error?: { code: string; message: string };
  plan?: { width: number; height: number };
  /** The model's 8-bit map at its input size. */
  map?: number[];
  probabilities?: number[];
  /** The finished mask at the photo's size. */
  full?: number[];
  subject?: string;
}

/** Photo i as the page holds it, once the page is done with it. */
async function pagePhoto(page: Page, i: number, timeout = 60_000): Promise<PagePhoto> {
  await page.waitForFunction((n) => {
    const p = (window as unknown as { greenscreen: { photos: { status: string }[] } }).greenscreen.photos[n];
    return p !== undefined && p.status !== 'working';
  }, i, { timeout });
  return page.evaluate((n) => {
    type Hooked = {
      name: string;
      status: PagePhoto['status'];
      key?: string;
      error?: PagePhoto['error'];
      result?: { plan: { width: number; height: number }; map: Uint8Array; probabilities: Float32Array };
      full?: Uint8Array;
      subject?: string;
    };
    const p = (window as unknown as { greenscreen: { photos: Hooked[] } }).greenscreen.photos[n]!;
    return {
      name: p.name,
      status: p.status,
      ...(p.key ? { key: p.key } : {}),
      ...(p.error ? { error: p.error } : {}),
      ...(p.result ? { plan: p.result.plan, map: Array.from(p.result.map), probabilities: Array.from(p.result.probabilities) } : {}),
      ...(p.full ? { full: Array.from(p.full), subject: p.subject } : {}),
    };
  }, i);
}

/** The job row for a key once it reaches one of `statuses`. */
async function jobRow(page: Page, key: string, statuses: string[], timeout = 90_000) {
  const row = page.locator(`#jobs tr[data-key="${key}"]`);
  await expect
    .poll(async () => ((await row.count()) ? await row.getAttribute('data-status') : undefined), { timeout, interval: 250 })
    .toSatisfy((s) => statuses.includes(String(s)));
  return row;
}

describe('the page in Chromium', () => {
  let stack: LocalStack;
  let web: WebServer;
  let browser: BrowserSession;
  let card: ModelCard;
  let nodeSession: ModelSession;

  beforeAll(async () => {
    await rm(SHOTS, { recursive: true, force: true });
    const reads = new SourceReads();
    stack = await startLocalStack({ port: 0, batchSize: 2, threads: 1, pollMs: 100, wrapStore: (s) => reads.wrap(s) });
    web = await startStackWebServer(stack, { reads });
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    card = loaded.card;
    nodeSession = await createModelSession(loaded, { provider: 'cpu', threads: 1 });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await nodeSession?.release();
    await stack?.stop();
  }, 60_000);

  it('loads the model from 127.0.0.1 only, on WASM without WebGPU, cross-origin isolated for threads', async () => {
    const { page } = browser;
    await page.goto(web.url);
    await page.waitForSelector('body[data-state]', { timeout: 90_000 });
    await shots.take(page, 'ready');
    const state = await page.evaluate(() => {
      const g = (window as unknown as { greenscreen: { state: string; error?: string; backend?: string; threads?: number; pipeline: boolean } }).greenscreen;
      return { state: g.state, error: g.error, backend: g.backend, threads: g.threads, pipeline: g.pipeline, isolated: crossOriginIsolated };
    });
    expect(state).toMatchObject({ state: 'ready', backend: 'wasm', isolated: true });
    expect(state.threads).toBeGreaterThanOrEqual(1);
    await expect.poll(() => page.evaluate(() => !document.getElementById('pipeline')!.hidden)).toBe(true);
    await expect(page.locator('#model-status').textContent()).resolves.toMatch(/^Model tiramisu@\S+ ready in \d+ ms · WASM, \d+ threads?$/);
    expect(browser.blocked).toEqual([]);
    expect(browser.errors).toEqual([]);
  }, 120_000);

  it("cuts a fixture photo out in the page as onnxruntime-node does (IoU >= 0.99)", async () => {
    const { page } = browser;
    const file = photoPath(0);
    await page.setInputFiles('#file', file);
    const inPage = await pagePhoto(page, 0);
    await shots.take(page, 'cut-out-in-page');
    expect(inPage.error).toBeUndefined();
    expect(inPage.status).toBe('done');

    const node = await segmentInNode(await readFile(file), card, nodeSession);
    expect(inPage.plan).toEqual({ ...node.plan });
    const parity = compareProbabilities(inPage.probabilities!, node.probabilities, card.threshold, [inPage.map!, node.map]);
    // The finished masks at the photo's size: the page's canvas upsampling + haze curve vs the worker's libvips.
    const finished = compareMasks(inPage.full!, node.mask);
    await writeFile(join(SHOTS, 'parity.json'), `${JSON.stringify({ photo: file, plan: node.plan, ...parity, finished }, null, 2)}\n`);
    console.log(
      `browser vs onnxruntime-node on ${file}: IoU ${parity.iou.toFixed(5)}, max |Δp| ${parity.maxAbsDiff.toExponential(3)}, ` +
        `mean |Δp| ${parity.meanAbsDiff.toExponential(3)}, max mask Δ ${parity.maxMaskLevels}/255; finished full-size masks: ` +
        `IoU ${finished.iou.toFixed(5)}, max Δ ${finished.maxLevels}/255, mean Δ ${finished.meanLevels.toFixed(3)}`,
    );
    expect(parity.foreground).toBeGreaterThan(0.05);
    expect(parity.foreground).toBeLessThan(0.95);
    expect(parity.iou).toBeGreaterThanOrEqual(0.99);
    expect(inPage.subject).toBe('person');
    // Upsampled by a canvas here, by libvips in the worker: the model's maps are identical (above),
    // the interpolation at the photo's size is not (measured 0.990 on this photo, mean 0.6 levels).
    expect(finished.iou).toBeGreaterThanOrEqual(0.98);
  }, 120_000);

  it('shows the upload as a succeeded job with its images and a verified webhook', async () => {
    const { page } = browser;
    const key = `${INPUT_PREFIX}${photoPath(0).split('/').pop()}`;
    expect((await pagePhoto(page, 0)).key).toBe(key);
    const row = await jobRow(page, key, ['succeeded', 'failed']);
    expect(await row.getAttribute('data-status')).toBe('succeeded');
    await expect.poll(() => page.locator('#server').getAttribute('data-status')).toBe('succeeded');
    for (const id of ['server-mask', 'server-cutout']) {
      await expect.poll(() => page.evaluate((i) => (document.getElementById(i) as HTMLImageElement).naturalWidth, id)).toBe(550);
    }
    // The pipeline's mask.png against the page's finished mask: the same photo, the same finishing.
    const src = await page.evaluate(() => (document.getElementById('server-mask') as HTMLImageElement).src);
    const serverMask = await sharp(Buffer.from(await (await fetch(src)).arrayBuffer())).extractChannel(0).raw().toBuffer();
    const vsServer = compareMasks((await pagePhoto(page, 0)).full!, serverMask);
    console.log(`page vs pipeline mask.png: IoU ${vsServer.iou.toFixed(5)}, max Δ ${vsServer.maxLevels}/255, mean Δ ${vsServer.meanLevels.toFixed(3)}`);
    expect(vsServer.iou).toBeGreaterThanOrEqual(0.98); // canvas vs libvips upsampling, as above
    const hook = page.locator(`#webhooks tr[data-key="${key}"]`);
    await expect.poll(() => hook.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect(hook.first().innerText()).resolves.toMatch(/job\.succeeded\s+incoming\/0001\.jpg\s+verified\s+200/);
    await page.locator('#server').scrollIntoViewIfNeeded();
    await shots.take(page, 'pipeline-succeeded');
  }, 120_000);

  it.each([
    ['webp', {}],
    ['avif', {}],
    ['jpeg', { 'greenscreen-background': '#ffffff' }],
  ] as const)("links the pipeline's %s cut-out, and the page's server serves it", async (format, more) => {
    const { page } = browser;
    const key = `${INPUT_PREFIX}format-${format}.jpg`;
    await stack.store.put(stack.resources.bucket, key, await readFile(photoPath(1)), {
      contentType: 'image/jpeg',
      metadata: { 'greenscreen-format': format, ...more },
    });
    const row = await jobRow(page, key, ['succeeded', 'failed']);
    expect(await row.getAttribute('data-status')).toBe('succeeded');
    const href = await row.locator('a', { hasText: 'cut-out' }).getAttribute('href');
    expect(href).toMatch(new RegExp(`cutout\\.${format === 'jpeg' ? 'jpg' : format}$`));
    const got = await page.evaluate(async (h) => {
      const res = await fetch(h);
      return { status: res.status, type: res.headers.get('content-type'), bytes: Array.from(new Uint8Array(await res.arrayBuffer())) };
    }, href!);
    expect([got.status, got.type]).toEqual([200, `image/${format}`]);
    const meta = await sharp(Buffer.from(got.bytes)).metadata();
    expect(meta.format).toBe(format === 'avif' ? 'heif' : format);
  }, 120_000);

  it('shows a corrupt file as INVALID_IMAGE, in the page and from the pipeline', async () => {
    const { page } = browser;
    const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF but then nothing a decoder can use'.repeat(20))]);
    await page.setInputFiles('#file', { name: 'corrupt.jpg', mimeType: 'image/jpeg', buffer: corrupt });
    const inPage = await pagePhoto(page, 1);
    expect(inPage.error?.code).toBe('INVALID_IMAGE');
    await expect.poll(() => page.locator('#error').innerText()).toMatch(/^corrupt\.jpg: Expected a JPEG, PNG, WebP, GIF or AVIF image but corrupt\.jpg is not one this browser can decode \(bytes ffd8ffe000104a46\)$/);
    const row = await jobRow(page, `${INPUT_PREFIX}corrupt.jpg`, ['failed', 'succeeded']);
    await expect(row.innerText()).resolves.toMatch(/failed\s+INVALID_IMAGE: Expected a valid JPEG image but it is corrupt or truncated/);
    await expect.poll(() => page.locator('#server-status').innerText()).toMatch(/incoming\/corrupt\.jpg: failed — INVALID_IMAGE: /);
    await shots.take(page, 'corrupt-file');
  }, 120_000);

  it('says a photo over the pixel limit is too large', async () => {
    const { page } = browser;
    const big = await sharp({ create: { width: 6400, height: 6400, channels: 3, background: '#808080' } }).png({ compressionLevel: 9 }).toBuffer();
    await page.setInputFiles('#file', { name: 'huge.png', mimeType: 'image/png', buffer: big });
    const inPage = await pagePhoto(page, 2);
    expect(inPage.error).toEqual({ code: 'IMAGE_TOO_LARGE', message: 'Expected an image of at most 40000000 pixels but huge.png is 6400x6400' });
    const row = await jobRow(page, `${INPUT_PREFIX}huge.png`, ['failed', 'succeeded']);
    await expect(row.innerText()).resolves.toMatch(/failed\s+IMAGE_TOO_LARGE: Expected an image of at most 40000000 pixels but received 6400x6400/);
    await shots.take(page, 'too-large');
  }, 120_000);

  it('lists photos uploaded from the command line while the page is open', async () => {
    const { page } = browser;
    const { main } = await import('#cli/main');
    const files = [photoPath(1), photoPath(2)];
    expect(await main(['upload', ...files, '--endpoint', stack.endpoint, '--quiet'])).toBe(0);
    for (const f of files) await jobRow(page, `${INPUT_PREFIX}${f.split('/').pop()}`, ['succeeded']);
    await page.locator('#pipeline').scrollIntoViewIfNeeded();
    await shots.take(page, 'cli-uploads');
  }, 120_000);

  it('takes dropped and pasted photos, and keeps them in the page when "send" is off', async () => {
    const { page } = browser;
    await page.uncheck('#send');
    const b64 = (await readFile(photoPath(3))).toString('base64');
    await page.evaluate((data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = (name: string) => {
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: 'image/jpeg' }));
        return dt;
      };
      const drop = document.getElementById('drop')!;
      drop.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer('dropped.jpg'), bubbles: true, cancelable: true }));
      drop.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer('dropped.jpg'), bubbles: true, cancelable: true }));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer('pasted.jpg'), bubbles: true, cancelable: true }));
    }, b64);
    const dropped = await pagePhoto(page, 3);
    const pasted = await pagePhoto(page, 4);
    expect([dropped.name, dropped.status, pasted.name, pasted.status]).toEqual(['dropped.jpg', 'done', 'pasted.jpg', 'done']);
    expect(dropped.key ?? pasted.key).toBeUndefined();
    expect(dropped.map).toEqual(pasted.map); // the same photo, the same mask
    await page.waitForTimeout(1500); // two job-list polls
    expect(await page.locator('#jobs tr[data-key="incoming/dropped.jpg"], #jobs tr[data-key="incoming/pasted.jpg"]').count()).toBe(0);
    await shots.take(page, 'dropped-and-pasted-local-only');
    await page.check('#send');
  }, 120_000);

  it('works from the keyboard: pick photos, change the background, download every format (PNG, WebP, AVIF; JPEG with the background)', async () => {
    const { page } = browser;
    await page.locator('#photos button').first().click(); // back to the fixture photo
    // Tab from the top of the page: the file picker first, then every control in reading order.
    await page.evaluate(() => {
      const h1 = document.querySelector('h1')!;
      h1.tabIndex = -1;
      h1.focus();
    });
    const order: string[] = [];
    for (let i = 0; i < 24; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName.toLowerCase() || ''));
    }
    expect(order[0]).toBe('file');
    const controls = ['file', 'send', 'button', 'bg-checker', 'colour', 'bg-file', 'dl-png', 'dl-webp', 'dl-avif', 'dl-composite', 'dl-composite-jpeg', 'dl-mask'];
    expect(order.filter((id) => controls.includes(id)).filter((id, i, a) => a.indexOf(id) === i)).toEqual(controls);
    // Every control has a name a screen reader can say.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('button, input, select, a[href]')]
        .filter((el) => !(el.getAttribute('aria-label') || (el as HTMLInputElement).labels?.length || el.textContent?.trim()))
        .map((el) => el.id || el.outerHTML.slice(0, 60)),
    );
    expect(unnamed).toEqual([]);
    // Radios: arrow keys move the background choice.
    await page.focus('#bg-checker');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => (document.getElementById('bg-colour') as HTMLInputElement).checked)).toBe(true);
    expect(await page.evaluate(() => getComputedStyle(document.getElementById('stage')!).backgroundColor)).toBe('rgb(0, 177, 64)');
    await page.locator('#result').scrollIntoViewIfNeeded();
    await shots.take(page, 'keyboard-colour-background');
    // Downloads, from the keyboard.
    const downloads: Record<string, Buffer> = {};
    const files = [
      ['dl-png', 'cutout.png'],
      ['dl-webp', 'cutout.webp'],
      ['dl-avif', 'cutout.avif'],
      ['dl-composite', 'composite.png'],
      ['dl-composite-jpeg', 'composite.jpg'],
      ['dl-mask', 'mask.png'],
    ] as const;
    for (const [id, name] of files) {
      await page.focus(`#${id}`);
      const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
      expect(download.suggestedFilename()).toBe(`0001-${name}`);
      const path = join(SHOTS, `download-${name}`);
      await download.saveAs(path);
      downloads[name] = await readFile(path);
    }
    expect(await page.locator('#error').isVisible()).toBe(false);
    const png = await sharp(downloads['cutout.png']).metadata();
    expect(png).toMatchObject({ format: 'png', width: 550, height: 832, channels: 4 });
    const webp = await sharp(downloads['cutout.webp']).metadata();
    expect(webp).toMatchObject({ format: 'webp', width: 550, height: 832, hasAlpha: true });
    // AVIF: browsers cannot write it from a canvas; the dev server encodes it as the pipeline does.
    const avif = await sharp(downloads['cutout.avif']).metadata();
    expect(avif).toMatchObject({ format: 'heif', compression: 'av1', width: 550, height: 832, hasAlpha: true });
    const avifCorner = await sharp(downloads['cutout.avif']).ensureAlpha().raw().toBuffer();
    expect(avifCorner[3]).toBeLessThan(8); // transparent around the person, as in the PNG
    // JPEG has no alpha: only the cut-out on its background, opaque, green where the cut-out is empty.
    const jpeg = await sharp(downloads['composite.jpg']).metadata();
    expect(jpeg).toMatchObject({ format: 'jpeg', width: 550, height: 832, channels: 3, hasAlpha: false });
    const jpegCorner = [...(await sharp(downloads['composite.jpg']).raw().toBuffer()).subarray(0, 3)];
    jpegCorner.forEach((v, i) => expect(Math.abs(v - [0, 177, 64][i]!)).toBeLessThanOrEqual(6));
    expect(await sharp(downloads['mask.png']).metadata()).toMatchObject({ format: 'png', width: 550, height: 832 });
    // Transparent around the person, opaque on them; the composite is opaque, green where the cut-out is empty.
    const { data } = await sharp(downloads['cutout.png']).raw().toBuffer({ resolveWithObject: true });
    expect(data[3]).toBe(0); // top-left corner: background
    const comp = await sharp(downloads['composite.png']).removeAlpha().raw().toBuffer();
    expect([...comp.subarray(0, 3)]).toEqual([0, 177, 64]);
    // A picked background image: shown behind the cut-out, and in the composite download.
    const red = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#d01010' } }).png().toBuffer();
    await page.setInputFiles('#bg-file', { name: 'red.png', mimeType: 'image/png', buffer: red });
    await expect.poll(() => page.evaluate(() => (document.getElementById('bg-image') as HTMLInputElement).checked)).toBe(true);
    expect(await page.evaluate(() => getComputedStyle(document.getElementById('stage')!).backgroundImage)).toMatch(/^url\("blob:/);
    await page.locator('#result').scrollIntoViewIfNeeded();
    await shots.take(page, 'picked-background');
    const [picked] = await Promise.all([page.waitForEvent('download'), page.click('#dl-composite')]);
    await picked.saveAs(join(SHOTS, 'download-composite-picked.png'));
    const onRed = await sharp(join(SHOTS, 'download-composite-picked.png')).removeAlpha().raw().toBuffer();
    expect([...onRed.subarray(0, 3)]).toEqual([208, 16, 16]);
  }, 120_000);

  it('explains a model that fails to load', async () => {
    const page = await browser.context.newPage();
    await page.route('**/model/tiramisu.onnx', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await page.goto(web.url);
    await page.waitForSelector('body[data-state="error"]', { timeout: 60_000 });
    await expect(page.locator('#error').innerText()).resolves.toBe(
      'The model failed to load: Expected the model weights (tiramisu.onnx) at /model/tiramisu.onnx but the server answered 404 Not Found',
    );
    await shots.take(page, 'model-failed');
    await page.close();
  }, 120_000);
});

describe('the page on WebGPU (SwiftShader: a WebGPU adapter without a GPU)', () => {
  let web: WebServer;
  let browser: BrowserSession;
  let card: ModelCard;
  let nodeSession: ModelSession;

  beforeAll(async () => {
    web = await startWebServer({}); // the static page: no stack behind it
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    card = loaded.card;
    nodeSession = await createModelSession(loaded, { provider: 'cpu', threads: 1 });
    browser = await launchBrowser({ webgpu: 'swiftshader' });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await nodeSession?.release();
  }, 60_000);

  // SwiftShader runs the compute shaders on the CPU: about a minute per photo here. It proves the
  // page's WebGPU path (onnxruntime-web's WebGPU build and runtime) end to end, not its speed.
  it("picks WebGPU when there is an adapter, and its mask matches onnxruntime-node's", async () => {
    const { page } = browser;
    await page.goto(web.url);
    await page.waitForSelector('body[data-state]', { timeout: 120_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { greenscreen: { state: string; backend?: string } }).greenscreen)).toMatchObject({ state: 'ready', backend: 'webgpu' });
    await expect(page.locator('#model-status').textContent()).resolves.toMatch(/ready in \d+ ms · WebGPU$/);
    expect(await page.locator('#no-pipeline').isVisible()).toBe(true);
    const file = photoPath(0);
    await page.setInputFiles('#file', file);
    const inPage = await pagePhoto(page, 0, 300_000);
    await shots.take(page, 'webgpu-cut-out');
    expect(inPage.status).toBe('done');
    const node = await segmentInNode(await readFile(file), card, nodeSession);
    const parity = compareProbabilities(inPage.probabilities!, node.probabilities, card.threshold, [inPage.map!, node.map]);
    await writeFile(join(SHOTS, 'parity-webgpu.json'), `${JSON.stringify({ photo: file, plan: node.plan, ...parity }, null, 2)}\n`);
    console.log(`WebGPU (SwiftShader) vs onnxruntime-node: IoU ${parity.iou.toFixed(5)}, max |Δp| ${parity.maxAbsDiff.toExponential(3)}, max mask Δ ${parity.maxMaskLevels}/255`);
    expect(parity.iou).toBeGreaterThanOrEqual(0.99);
    expect(browser.blocked).toEqual([]);
  }, 400_000);
});

describe('the static build (npm run build:web) on a plain host without isolation headers', () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  let browser: BrowserSession;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'greenscreen-static-'));
    await writeWebBundle(dir, await buildWebBundle());
    // Any static host: files by path and a content type, nothing else (no COOP/COEP, no API).
    server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const file = join(dir, path === '/' ? 'index.html' : path);
      readFile(file).then(
        (body) => res.writeHead(200, { 'content-type': contentTypeOf(file) }).end(body),
        () => res.writeHead(404).end('not found'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('loads the model on one WASM thread, cuts a photo out, and says there is no pipeline', async () => {
    const { page } = browser;
    await page.goto(url);
    await page.waitForSelector('body[data-state]', { timeout: 90_000 });
    const state = await page.evaluate(() => {
      const g = (globalThis as unknown as { greenscreen: { state: string; error?: string; backend?: string; threads?: number } }).greenscreen;
      return { state: g.state, error: g.error, backend: g.backend, threads: g.threads, isolated: crossOriginIsolated };
    });
    expect(state).toEqual({ state: 'ready', error: undefined, backend: 'wasm', threads: 1, isolated: false });
    await page.setInputFiles('#file', photoPath(0));
    expect((await pagePhoto(page, 0)).status).toBe('done');
    expect(await page.locator('#no-pipeline').isVisible()).toBe(true);
    expect(await page.locator('#pipeline-option').isVisible()).toBe(false);
    // No server to encode AVIF here: the button says why instead of failing.
    expect(await page.locator('#dl-avif').isDisabled()).toBe(true);
    expect(await page.locator('#dl-avif').getAttribute('title')).toMatch(/^Browsers cannot write AVIF/);
    const [jpeg] = await Promise.all([page.waitForEvent('download'), page.click('#dl-composite-jpeg')]);
    expect(jpeg.suggestedFilename()).toBe('0001-composite.jpg');
    expect(browser.blocked).toEqual([]);
    await shots.take(page, 'static-build-plain-host');
  }, 120_000);
});
