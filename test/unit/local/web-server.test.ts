import http from 'node:http';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryList, safeUploadName, SourceReads, startWebServer, type PipelineOptions, type WebServer } from '#local/web-server';
import type { WebBundle } from '#web/build';
import { FORMAT_FILES, OUTPUT_FORMATS } from '#core/output-formats';
import { ObjectResultStore } from '#core/adapters/object-result-store';
import type { JobResult } from '#core/messages';
import { jobResult } from '#test/events';
import { InMemoryObjectStore } from '#test/fakes';

const BUCKET = 'b';
const bundle: WebBundle = {
  files: new Map([['index.html', { body: Buffer.from('<!doctype html><title>t</title>'), contentType: 'text/html; charset=utf-8' }]]),
  appBytes: 30,
};

function receiver(over: Partial<PipelineOptions['receiver']> = {}): PipelineOptions['receiver'] {
  return { url: 'http://127.0.0.1:1/webhooks', deliveries: [], responses: [], rejected: 0, duplicates: 0, ...over };
}

/** GET/POST with full control of the Host header (fetch does not allow setting it). */
function request(url: string, options: { method?: string; host?: string; body?: Buffer } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: options.method ?? 'GET', headers: options.host ? { host: options.host } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A committed result (core's schema and commit: #core/adapters/object-result-store) for `key` at `sourceEtag`. */
async function result(store: InMemoryObjectStore, key: string, sourceEtag: string, fields: Partial<JobResult>) {
  await new ObjectResultStore(store, BUCKET).commit(jobResult({ jobId: 'j', source: { bucket: BUCKET, key, etag: sourceEtag, size: 1 }, ...fields }));
}

describe('web server', () => {
  let server: WebServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it.each([
    ['../../x.jpg', 'x.jpg'],
    ['C:\\photos\\p.jpg', 'p.jpg'],
    ['a b?.png', 'a_b_.png'],
    ['.hidden.jpg', 'hidden.jpg'],
    ['..', 'photo'],
    ['', 'photo'],
  ])('turns the file name %j into the key segment %j', (name, expected) => {
    expect(safeUploadName(name)).toBe(expected);
  });

  it('lists each source photo with the status of its latest version', async () => {
    const store = new InMemoryObjectStore();
    const put = async (key: string, body: string) => (await store.put(BUCKET, key, body, { contentType: 'image/jpeg' })).etag;
    const a = await put('incoming/a.jpg', 'a');
    const b = await put('incoming/b.jpg', 'b');
    await put('incoming/c.jpg', 'c');
    await put('incoming/d.jpg', 'd');
    await put('incoming/e.jpg', 'e-new');
    await result(store, 'incoming/a.jpg', a, { status: 'succeeded', width: 4, height: 3, timingsMs: { total: 12.4 } });
    await result(store, 'incoming/b.jpg', b, { status: 'failed', error: { code: 'INVALID_IMAGE', message: 'Expected a valid JPEG' } });
    await result(store, 'incoming/e.jpg', 'etag-of-the-old-version', { status: 'succeeded' });
    await result(store, 'incoming/gone.jpg', 'etag-of-a-deleted-upload', { status: 'succeeded' });
    await store.put(BUCKET, 'results/incoming/f.jpg/result.json', '{"status": "succeeded"}', { contentType: 'application/json' }); // not a result
    const reads = new SourceReads();
    await reads.wrap(store).get(BUCKET, 'incoming/c.jpg'); // the worker started on c
    server = await startWebServer({ bundle, pipeline: { store, bucket: BUCKET, endpoint: 'http://x', receiver: receiver(), reads, model: 'm@1', maxUploadBytes: 100, maxInputPixels: 100 } });

    const res = await request(`${server.url}api/jobs`);
    const list = JSON.parse(res.body) as { jobs: { key: string; status: string; error?: unknown; mask?: string; totalMs?: number }[]; counts: unknown };
    const byKey = Object.fromEntries(list.jobs.map((j) => [j.key, j]));
    expect(byKey['incoming/a.jpg']).toMatchObject({ status: 'succeeded', mask: 'api/object?key=results%2Fincoming%2Fa.jpg%2Fj%2Fmask.png', width: 4, height: 3, totalMs: 12 });
    expect(byKey['incoming/b.jpg']).toMatchObject({ status: 'failed', error: { code: 'INVALID_IMAGE', message: 'Expected a valid JPEG' } });
    expect(byKey['incoming/c.jpg']!.status).toBe('running');
    expect(byKey['incoming/d.jpg']!.status).toBe('queued');
    expect(byKey['incoming/e.jpg']).toEqual(expect.objectContaining({ status: 'queued' })); // its result is for an older upload
    expect(byKey['incoming/e.jpg']!.mask).toBeUndefined();
    expect(byKey['incoming/gone.jpg']!.status).toBe('succeeded'); // its upload was deleted after processing
    expect(byKey['incoming/f.jpg']).toMatchObject({ status: 'failed', error: { code: 'UNREADABLE' } });
    expect((byKey['incoming/f.jpg']!.error as { message: string }).message).toMatch(/^Expected a result\.json but could not read it: /);
    expect(list.counts).toEqual({ queued: 2, running: 1, succeeded: 2, failed: 2 });
  });

  it('uploads under incoming/ with a safe name, and refuses a photo over the limit with a sentence', async () => {
    const store = new InMemoryObjectStore();
    server = await startWebServer({ bundle, pipeline: { store, bucket: BUCKET, endpoint: 'http://x', receiver: receiver(), model: 'm@1', maxUploadBytes: 1000, maxInputPixels: 100 } });
    const ok = await request(`${server.url}api/upload?name=../../evil.jpg`, { method: 'POST', body: Buffer.from('photo bytes') });
    expect(ok.status).toBe(201);
    expect(JSON.parse(ok.body)).toEqual({ key: 'incoming/evil.jpg' });
    expect((await store.get(BUCKET, 'incoming/evil.jpg')).body.toString()).toBe('photo bytes');
    const big = await request(`${server.url}api/upload?name=big.jpg`, { method: 'POST', body: Buffer.alloc(5000) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error).toBe('Expected a photo of at most 1000 bytes but received 5000 bytes');
    expect(await store.head(BUCKET, 'incoming/big.jpg')).toBeUndefined();
  });

  it('serves output images only from results/', async () => {
    const store = new InMemoryObjectStore();
    await store.put(BUCKET, 'results/incoming/a.jpg/j/mask.png', Buffer.from('png'), { contentType: 'image/png' });
    await store.put(BUCKET, 'incoming/a.jpg', Buffer.from('photo'), { contentType: 'image/jpeg' });
    server = await startWebServer({ bundle, pipeline: { store, bucket: BUCKET, endpoint: 'http://x', receiver: receiver(), model: 'm@1', maxUploadBytes: 100, maxInputPixels: 100 } });
    const ok = await request(`${server.url}api/object?key=${encodeURIComponent('results/incoming/a.jpg/j/mask.png')}`);
    expect([ok.status, ok.body, ok.headers['content-type']]).toEqual([200, 'png', 'image/png']);
    const source = await request(`${server.url}api/object?key=${encodeURIComponent('incoming/a.jpg')}`);
    expect(source.status).toBe(400);
    expect(JSON.parse(source.body).error).toBe('Expected the key of an output image under results/ but received "incoming/a.jpg"');
  });

  it.each(Object.entries(FORMAT_FILES))('serves a %s output (every format a job writes)', async (_format, { ext, contentType }) => {
    const store = new InMemoryObjectStore();
    const key = `results/incoming/a.jpg/j/cutout.${ext}`;
    await store.put(BUCKET, key, Buffer.from('image bytes'), { contentType });
    server = await startWebServer({ bundle, pipeline: { store, bucket: BUCKET, endpoint: 'http://x', receiver: receiver(), model: 'm@1', maxUploadBytes: 100, maxInputPixels: 100 } });
    const ok = await request(`${server.url}api/object?key=${encodeURIComponent(key)}`);
    expect([ok.status, ok.body, ok.headers['content-type']]).toEqual([200, 'image bytes', contentType]);
  });

  it.each(OUTPUT_FORMATS)("encodes the page's cut-out as %s with the pipeline's encoder (every format downloads from the page)", async (format) => {
    const store = new InMemoryObjectStore();
    server = await startWebServer({ bundle, pipeline: { store, bucket: BUCKET, endpoint: 'http://x', receiver: receiver(), model: 'm@1', maxUploadBytes: 100, maxInputPixels: 10_000 } });
    const png = await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 200, g: 20, b: 20, alpha: 0.5 } } }).png().toBuffer();
    const res = await fetch(`${server.url}api/encode?format=${format}`, { method: 'POST', body: png });
    expect([res.status, res.headers.get('content-type')]).toEqual([200, FORMAT_FILES[format].contentType]);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: format === 'avif' ? 'heif' : format, width: 40, height: 30, hasAlpha: FORMAT_FILES[format].alpha });
  });

  it('refuses to encode a format no job writes, a body that is no image, and one over the pixel limit', async () => {
    const store = new InMemoryObjectStore();
    server = await startWebServer({ bundle, pipeline: { store, bucket: BUCKET, endpoint: 'http://x', receiver: receiver(), model: 'm@1', maxUploadBytes: 100, maxInputPixels: 10_000 } });
    const png = await sharp({ create: { width: 40, height: 30, channels: 4, background: '#000' } }).png().toBuffer();
    const gif = await request(`${server.url}api/encode?format=gif`, { method: 'POST', body: png });
    expect([gif.status, JSON.parse(gif.body).error]).toEqual([400, 'Expected format= one of png, webp, avif, jpeg but received "gif"']);
    const junk = await request(`${server.url}api/encode?format=avif`, { method: 'POST', body: Buffer.from('not a png') });
    expect(junk.status).toBe(400);
    expect(JSON.parse(junk.body).error).toMatch(/^Expected a PNG image of at most 10000 pixels to encode as AVIF but sharp refused it: /);
    const big = await sharp({ create: { width: 200, height: 100, channels: 4, background: '#000' } }).png().toBuffer();
    const tooBig = await request(`${server.url}api/encode?format=avif`, { method: 'POST', body: big });
    expect(tooBig.status).toBe(400);
  });

  it('answers only requests that name a loopback host (no DNS rebinding)', async () => {
    server = await startWebServer({ bundle });
    const port = new URL(server.url).port;
    expect((await request(server.url, { host: `localhost:${port}` })).status).toBe(200);
    const rebound = await request(server.url, { host: `photos.example.com:${port}` });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).error).toBe(`Expected Host 127.0.0.1:${port} or localhost:${port} but received "photos.example.com:${port}"`);
  });

  it('serves the page cross-origin isolated, and no API without a stack', async () => {
    server = await startWebServer({ bundle });
    const page = await request(server.url);
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({ 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect((await request(`${server.url}api/jobs`)).status).toBe(404);
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
  });

  it('reports every webhook request: verified, refused, and a redelivery as a duplicate', () => {
    const payload = { type: 'job.failed', data: { jobId: 'j1', source: { key: 'incoming/a.jpg' }, error: { code: 'INVALID_IMAGE' } } };
    const list = deliveryList(
      receiver({
        deliveries: [{ webhookId: 'evt_1', type: 'job.failed', receivedAt: 't1', payload, raw: { headers: {}, body: JSON.stringify(payload) } }],
        responses: [
          { webhookId: 'evt_1', status: 200, at: 't1' },
          { webhookId: 'evt_forged', status: 401, at: 't2' },
          { webhookId: 'evt_1', status: 200, at: 't3' },
        ],
        rejected: 1,
        duplicates: 1,
      }),
    );
    expect(list).toEqual({
      accepted: 1,
      rejected: 1,
      duplicates: 1,
      deliveries: [
        { at: 't1', webhookId: 'evt_1', httpStatus: 200, verified: true, duplicate: false, type: 'job.failed', key: 'incoming/a.jpg', jobId: 'j1', errorCode: 'INVALID_IMAGE' },
        { at: 't2', webhookId: 'evt_forged', httpStatus: 401, verified: false, duplicate: false },
        { at: 't3', webhookId: 'evt_1', httpStatus: 200, verified: true, duplicate: true, type: 'job.failed', key: 'incoming/a.jpg', jobId: 'j1', errorCode: 'INVALID_IMAGE' },
      ],
    });
  });
});
