/** The page's client of the dev server's API; the static page (no server) finds none and hides the pipeline view. */
import type { OutputFormat } from '#core/output-formats';
import type { ApiInfo, DeliveryList, JobList } from '#web/api';

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new Error(body.error ?? `Expected a 2xx answer but the server said ${res.status} ${res.statusText}`);
  }
  return (await res.json()) as T;
}

export class PipelineApi {
  constructor(private readonly base: URL) {}

  /** undefined when there is no API here (the static page). */
  async info(): Promise<ApiInfo | undefined> {
    try {
      const res = await fetch(new URL('api/info', this.base));
      if (!res.ok || !res.headers.get('content-type')?.includes('application/json')) return undefined;
      return (await res.json()) as ApiInfo;
    } catch {
      return undefined;
    }
  }

  async upload(file: File): Promise<{ key: string }> {
    const url = new URL('api/upload', this.base);
    url.searchParams.set('name', file.name || 'pasted.png');
    return json(await fetch(url, { method: 'POST', body: file, headers: { 'content-type': 'application/octet-stream' } }));
  }

  /** An image (a PNG) in an output format a canvas cannot write (AVIF), written by the pipeline's encoder. */
  async encode(png: Blob, format: OutputFormat): Promise<Blob> {
    const res = await fetch(new URL(`api/encode?format=${format}`, this.base), { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      throw new Error(body.error ?? `Expected the server to encode ${format} but it said ${res.status} ${res.statusText}`);
    }
    return res.blob();
  }

  async jobs(): Promise<JobList> {
    return json(await fetch(new URL('api/jobs', this.base)));
  }

  async webhooks(): Promise<DeliveryList> {
    return json(await fetch(new URL('api/webhooks', this.base)));
  }
}
