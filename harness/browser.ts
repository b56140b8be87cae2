/**
 * Headless Chromium for the page's test and benchmark: Debian's /usr/bin/chromium driven by
 * playwright-core (no browser download), a fresh profile per launch, and every request to a host
 * other than 127.0.0.1 aborted and recorded (the page must need nothing from elsewhere).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.GREENSCREEN_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to make to anything but 127.0.0.1 (all aborted). */
  blocked: string[];
  /** Bytes received over the network per response (encoded body + headers), by URL; see bytesReceived(). */
  transferred: Map<string, number>;
  /** Every byte received so far, once the sizes of finished requests are in. */
  bytesReceived(): Promise<number>;
  /** console errors and uncaught page errors, in order. */
  errors: string[];
  close(): Promise<void>;
}

export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Expected Chromium at ${CHROMIUM} but there is none: install it with \`apt-get update && apt-get install -y chromium\` ` +
        `(or set GREENSCREEN_CHROMIUM); .ci/run does this in CI`,
    );
  }
}

/**
 * WebGPU without a GPU: Chromium's SwiftShader (Vulkan on the CPU) as the WebGPU adapter. Slow, but
 * it runs the page's WebGPU path (onnxruntime-web's WebGPU build) for real on any machine.
 */
export const SWIFTSHADER_WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'];

export async function launchBrowser(
  options: { viewport?: { width: number; height: number }; webgpu?: 'swiftshader' } = {},
): Promise<BrowserSession> {
  assertChromium();
  const profile = await mkdtemp(join(tmpdir(), 'greenscreen-chromium-'));
  const args =
    options.webgpu === 'swiftshader' ? [...CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu'), ...SWIFTSHADER_WEBGPU_ARGS] : CHROMIUM_ARGS;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: options.viewport ?? { width: 1280, height: 1000 },
    acceptDownloads: true,
  });
  const blocked: string[] = [];
  const transferred = new Map<string, number>();
  const errors: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '127.0.0.1') {
      blocked.push(url.href);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  // Bytes on the wire per response (encoded body + headers), the page's and its workers' alike.
  const pending = new Set<Promise<void>>();
  context.on('requestfinished', (request) => {
    const p = request.sizes().then(
      (sz) => void transferred.set(request.url(), (transferred.get(request.url()) ?? 0) + sz.responseBodySize + sz.responseHeadersSize),
      () => undefined,
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  });
  return {
    context,
    page,
    blocked,
    transferred,
    async bytesReceived() {
      await Promise.all(pending);
      return [...transferred.values()].reduce((a, b) => a + b, 0);
    },
    errors,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Numbered screenshots of each step into a folder that survives a failing run. */
export class Screenshots {
  private n = 0;
  readonly written: string[] = [];

  constructor(readonly dir: string) {}

  async take(page: Page, step: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${String(++this.n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path, fullPage: true });
    this.written.push(path);
    return path;
  }
}
