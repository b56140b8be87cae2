/**
 * The page's server in local mode: the page's files (functions/web/build.ts, built in memory at
 * start) and a small API over the local stack: upload a photo to `incoming/`, the job list (every
 * source photo with its status: queued, running, succeeded, failed with code and message), the
 * outputs, and the webhook receiver's deliveries with their verification result. Loopback only,
 * and requests must name a loopback host (a web page elsewhere cannot rebind a name to it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { DEFAULT_MAX_INPUT_PIXELS, DEFAULT_MAX_UPLOAD_BYTES } from '#core/config';
import { FORMAT_FILES, isOutputFormat, OUTPUT_EXTENSIONS, OUTPUT_FORMATS } from '#core/output-formats';
import type { ObjectStore } from '#core/ports';
import { INPUT_PREFIX, RESULTS_PREFIX } from '#core/resources';
import type { ApiInfo, DeliveryList, DeliveryRow, JobList, JobRow } from '#web/api';
import { buildWebBundle, WEB_HEADERS, type WebBundle } from '#web/build';
import { encodeAs } from '#segment/codecs';
import { listJobs, ResultReader, type JobEntry } from './job-status.ts';
import type { LocalStack } from './stack.ts';
import type { WebhookReceiver } from './webhook-receiver.ts';

/**
 * Which source photos the worker has started reading: wrap the store the worker uses, and the
 * job list can say "running" between the download and the commit of result.json.
 */
export class SourceReads {
  private readonly started = new Map<string, number>();

  constructor(private readonly prefix: string = INPUT_PREFIX) {}

  wrap(inner: ObjectStore): ObjectStore {
    return {
      get: (bucket, key, options) => {
        if (key.startsWith(this.prefix)) this.started.set(key, Date.now());
        return inner.get(bucket, key, options);
      },
      head: (bucket, key, options) => inner.head(bucket, key, options),
      put: (bucket, key, body, options) => inner.put(bucket, key, body, options),
      list: (bucket, prefix, token, options) => inner.list(bucket, prefix, token, options),
      presignGet: (bucket, key, seconds) => inner.presignGet(bucket, key, seconds),
    };
  }

  /** When the worker last started reading this source (epoch ms), if it has. */
  startedAt(key: string): number | undefined {
    return this.started.get(key);
  }

  forget(key: string): void {
    this.started.delete(key);
  }
}

/** The files a job writes: every output format's extension (#core/output-formats), served from results/. */
const isOutputImage = (key: string) => OUTPUT_EXTENSIONS.some((ext) => key.endsWith(`.${ext}`));

/** An RGBA PNG is at most about 4 bytes a pixel (plus headers): the most /api/encode reads. */
const ENCODE_BYTES_PER_PIXEL = 4.1;

/** The local stack behind the API; without one the server serves the static page alone. */
export interface PipelineOptions {
  store: ObjectStore;
  bucket: string;
  endpoint: string;
  receiver: Pick<WebhookReceiver, 'url' | 'deliveries' | 'responses' | 'rejected' | 'duplicates'>;
  reads?: SourceReads;
  model: string;
  maxUploadBytes: number;
  maxInputPixels: number;
}

export interface WebServerOptions {
  pipeline?: PipelineOptions;
  /** 0 = any free port. Always on 127.0.0.1. */
  port?: number;
  /** Built in memory when not given. */
  bundle?: WebBundle;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** A file name as a key segment: no path, no leading dots, nothing but [A-Za-z0-9._-]. */
export function safeUploadName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(-200);
  return cleaned || 'photo';
}

/** The job list for the page, from the bucket itself (job-status.ts), with "running" from the worker's reads. */
class JobLister {
  private readonly results: ResultReader;
  /** When this server first listed each version of each source (S3 listings carry no useful order). */
  private readonly seen = new Map<string, { etag: string; at: string }>();
  private latest?: { at: number; list: Promise<JobList> };

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly reads: SourceReads | undefined,
  ) {
    this.results = new ResultReader(store, bucket);
  }

  /** At most one listing per 400 ms, however many pages poll. */
  list(): Promise<JobList> {
    const now = Date.now();
    if (!this.latest || now - this.latest.at > 400) {
      const list = this.compute();
      this.latest = { at: now, list };
      list.catch(() => (this.latest = undefined));
    }
    return this.latest.list;
  }

  private row(e: JobEntry): JobRow {
    let uploadedAt: string | undefined;
    if (e.source) {
      let seen = this.seen.get(e.key);
      if (!seen || seen.etag !== e.source.etag) this.seen.set(e.key, (seen = { etag: e.source.etag, at: new Date().toISOString() }));
      uploadedAt = seen.at;
    }
    const base = { key: e.key, ...(uploadedAt ? { uploadedAt } : {}) };
    if (e.unreadable) return { ...base, status: 'failed', error: { code: 'UNREADABLE', message: e.unreadable } };
    const r = e.result;
    if (!r) return { ...base, status: this.reads?.startedAt(e.key) !== undefined ? 'running' : 'queued' };
    this.reads?.forget(e.key);
    const object = (key: string) => `api/object?key=${encodeURIComponent(key)}`;
    const succeeded = r.status === 'succeeded';
    return {
      ...base,
      status: r.status,
      jobId: r.jobId,
      finishedAt: r.finishedAt,
      ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
      ...(r.outputs.mask && succeeded ? { mask: object(r.outputs.mask) } : {}),
      ...(r.outputs.cutout && succeeded ? { cutout: object(r.outputs.cutout) } : {}),
      ...(r.width && r.height ? { width: r.width, height: r.height } : {}),
      ...(r.timingsMs.total !== undefined ? { totalMs: Math.round(r.timingsMs.total) } : {}),
    };
  }

  private async compute(): Promise<JobList> {
    const jobs = (await listJobs(this.store, this.bucket, this.results)).map((e) => this.row(e));
    jobs.sort((a, b) => (b.uploadedAt ?? '').localeCompare(a.uploadedAt ?? '') || a.key.localeCompare(b.key));
    const counts: JobList['counts'] = { queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const j of jobs) if (j.status !== 'pending') counts[j.status]++;
    return { jobs, counts };
  }
}

/** Every request the receiver answered, with what the page needs to show about it. */
export function deliveryList(receiver: PipelineOptions['receiver']): DeliveryList {
  const payloads = new Map(receiver.deliveries.map((d) => [d.webhookId, d]));
  const accepted = new Set<string>();
  const deliveries = receiver.responses.map((r): DeliveryRow => {
    const d = r.webhookId ? payloads.get(r.webhookId) : undefined;
    const data = (d?.payload as { data?: { jobId?: string; source?: { key?: string }; error?: { code?: string } } } | undefined)?.data;
    const verified = r.status !== 401 && r.status !== 404;
    const duplicate = r.status === 200 && !!r.webhookId && accepted.has(r.webhookId);
    if (r.status === 200 && r.webhookId) accepted.add(r.webhookId);
    return {
      at: r.at,
      ...(r.webhookId ? { webhookId: r.webhookId } : {}),
      httpStatus: r.status,
      verified,
      duplicate,
      ...(d ? { type: d.type } : {}),
      ...(data?.source?.key ? { key: data.source.key } : {}),
      ...(data?.jobId ? { jobId: data.jobId } : {}),
      ...(data?.error?.code ? { errorCode: data.error.code } : {}),
    };
  });
  return { deliveries, accepted: receiver.deliveries.length, rejected: receiver.rejected, duplicates: receiver.duplicates };
}

const COMPRESSIBLE = /^(text\/|application\/(json|wasm|javascript))/;

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const bundle = options.bundle ?? (await buildWebBundle());
  const gzipped = new Map<string, Buffer>();
  const pipeline = options.pipeline;
  const lister = pipeline && new JobLister(pipeline.store, pipeline.bucket, pipeline.reads);
  const info: ApiInfo | undefined = pipeline && {
    bucket: pipeline.bucket,
    inputPrefix: INPUT_PREFIX,
    endpoint: pipeline.endpoint,
    webhookUrl: pipeline.receiver.url,
    maxUploadBytes: pipeline.maxUploadBytes,
    maxInputPixels: pipeline.maxInputPixels,
    model: pipeline.model,
  };
  let port = 0;

  const send = (req: http.IncomingMessage, res: http.ServerResponse, status: number, body: Buffer | string, type: string, path?: string) => {
    let buf = typeof body === 'string' ? Buffer.from(body) : body;
    const headers: Record<string, string> = { ...WEB_HEADERS, 'content-type': type, 'cross-origin-resource-policy': 'same-origin', 'cache-control': 'no-cache' };
    if (buf.length > 1024 && COMPRESSIBLE.test(type) && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      let z = path ? gzipped.get(path) : undefined;
      if (!z) {
        z = gzipSync(buf, { level: 6 });
        if (path) gzipped.set(path, z);
      }
      buf = z;
      headers['content-encoding'] = 'gzip';
      headers.vary = 'accept-encoding';
    }
    headers['content-length'] = String(buf.length);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : buf);
  };
  const sendJson = (req: http.IncomingMessage, res: http.ServerResponse, status: number, body: unknown) =>
    send(req, res, status, JSON.stringify(body), 'application/json');

  /** The body, or a 413 once it passes `max` (the rest is drained, not kept, so the answer arrives). */
  const readBody = (req: http.IncomingMessage, max: number, what = 'a photo') =>
    new Promise<Buffer>((resolve, reject) => {
      const tooLarge = (size: string) =>
        Object.assign(new Error(`Expected ${what} of at most ${max} bytes but received ${size}`), { status: 413 });
      const declared = Number(req.headers['content-length']);
      if (declared > max) {
        req.resume();
        return reject(tooLarge(`${declared} bytes`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= max) chunks.push(c);
      });
      req.on('end', () => (size > max ? reject(tooLarge(`${size} bytes`)) : resolve(Buffer.concat(chunks))));
      req.on('error', reject);
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    // DNS rebinding: a page on another site that points its name at 127.0.0.1 sends its own Host.
    const host = String(req.headers.host ?? '');
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}` && host !== `[::1]:${port}`) {
      return sendJson(req, res, 421, { error: `Expected Host 127.0.0.1:${port} or localhost:${port} but received ${JSON.stringify(host)}` });
    }
    const url = new URL(req.url ?? '/', `http://${host}`);
    const path = url.pathname;
    if (path.startsWith('/api/') && (!pipeline || !lister || !info)) {
      return sendJson(req, res, 404, { error: `Expected a local stack behind ${path} but this server only serves the page` });
    }
    if (req.method === 'POST' && path === '/api/upload' && pipeline) {
      const name = safeUploadName(url.searchParams.get('name') ?? '');
      const body = await readBody(req, pipeline.maxUploadBytes);
      const key = `${INPUT_PREFIX}${name}`;
      await pipeline.store.put(pipeline.bucket, key, body, { contentType: 'application/octet-stream' });
      return sendJson(req, res, 201, { key });
    }
    if (req.method === 'POST' && path === '/api/encode' && pipeline) {
      // The page's downloads in a format its browser cannot write from a canvas (AVIF): the page
      // sends its image as PNG and gets it back through the pipeline's own encoder (any output format).
      const format = url.searchParams.get('format') ?? '';
      if (!isOutputFormat(format)) {
        return sendJson(req, res, 400, { error: `Expected format= one of ${OUTPUT_FORMATS.join(', ')} but received ${JSON.stringify(url.searchParams.get('format'))}` });
      }
      const { label, contentType } = FORMAT_FILES[format];
      const body = await readBody(req, Math.ceil(ENCODE_BYTES_PER_PIXEL * pipeline.maxInputPixels), 'an image to encode');
      const encoded = await encodeAs(sharp(body, { limitInputPixels: pipeline.maxInputPixels }), { format }).catch((err: Error) => {
        throw Object.assign(new Error(`Expected a PNG image of at most ${pipeline.maxInputPixels} pixels to encode as ${label} but sharp refused it: ${err.message}`, { cause: err }), { status: 400 });
      });
      return send(req, res, 200, encoded, contentType);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(req, res, 405, { error: `Expected GET, HEAD, POST /api/upload or POST /api/encode but received ${req.method} ${path}` });
    if (path === '/api/info') return sendJson(req, res, 200, info);
    if (path === '/api/jobs') return sendJson(req, res, 200, await lister!.list());
    if (path === '/api/webhooks') return sendJson(req, res, 200, deliveryList(pipeline!.receiver));
    if (path === '/api/object' && pipeline) {
      const key = url.searchParams.get('key') ?? '';
      if (!key.startsWith(RESULTS_PREFIX) || !isOutputImage(key)) {
        return sendJson(req, res, 400, { error: `Expected the key of an output image under ${RESULTS_PREFIX} but received ${JSON.stringify(key)}` });
      }
      const obj = await pipeline.store.get(pipeline.bucket, key).catch(() => undefined);
      if (!obj) return sendJson(req, res, 404, { error: `Expected an object at ${key} but there is none` });
      return send(req, res, 200, obj.body, obj.contentType ?? 'image/png');
    }
    const file = bundle.files.get(path === '/' ? 'index.html' : path.slice(1));
    if (!file) return sendJson(req, res, 404, { error: `Expected a file of the page but there is none at ${path}` });
    return send(req, res, 200, file.body, file.contentType, path);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error & { status?: number }) => {
      if (!res.headersSent) sendJson(req, res, err.status ?? 500, { error: err.message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The page for a running local stack (`greenscreen dev`, `greenscreen run --web`, the browser test). */
export function startStackWebServer(
  stack: Pick<LocalStack, 'store' | 'resources' | 'endpoint' | 'receiver' | 'modelVersion'>,
  options: { reads?: SourceReads; port?: number; bundle?: WebBundle } = {},
): Promise<WebServer> {
  const { reads, ...rest } = options;
  return startWebServer({
    ...rest,
    pipeline: {
      store: stack.store,
      bucket: stack.resources.bucket,
      endpoint: stack.endpoint,
      receiver: stack.receiver,
      model: `tiramisu@${stack.modelVersion}`,
      maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
      maxInputPixels: DEFAULT_MAX_INPUT_PIXELS,
      ...(reads ? { reads } : {}),
    },
  });
}
