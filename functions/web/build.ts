/**
 * The page's bundle: esbuild over functions/web/page (the page imports the pure pre/post-processing
 * from #segmenter/segmentation, the same module the worker runs) plus the files it fetches at run time
 * from its own origin: onnxruntime-web's wasm runtime, the model and its card. Nothing from a CDN.
 *
 * `npm run build:web [-- --out dist/web]` writes a static folder any web host can serve;
 * `greenscreen dev` serves the same files from memory (functions/local/web-server.ts).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { cardPathFor, loadModelCard } from '#segment/model-card';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The runtime files onnxruntime-web fetches from `env.wasm.wasmPaths`: the plain SIMD+threads build
 * (WASM execution provider) and the asyncify build its WebGPU bundle needs. A page only fetches the
 * pair its backend uses.
 */
export const ORT_RUNTIME_FILES = [
  'ort-wasm-simd-threaded.mjs',
  'ort-wasm-simd-threaded.wasm',
  'ort-wasm-simd-threaded.asyncify.mjs',
  'ort-wasm-simd-threaded.asyncify.wasm',
] as const;

export interface WebFile {
  body: Buffer;
  contentType: string;
}

export interface WebBundle {
  /** Path under the site root (no leading slash) -> file. */
  files: Map<string, WebFile>;
  /** The page itself (html, js, css), without the runtime and the model: what "framework weight" means. */
  appBytes: number;
}

/**
 * Headers the page needs from whatever serves it: cross-origin isolation lets onnxruntime-web use
 * more than one thread (SharedArrayBuffer); without them it runs on one.
 */
export const WEB_HEADERS: Record<string, string> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; img-src 'self' blob: data:; style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'",
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.map': 'application/json',
};

export function contentTypeOf(path: string): string {
  const ext = path.slice(path.lastIndexOf('.'));
  return TYPES[ext] ?? 'application/octet-stream';
}

/** Builds the page in memory. The model's checksum is verified here and again in the page. */
export async function buildWebBundle(options: { minify?: boolean; cardPath?: string } = {}): Promise<WebBundle> {
  const files = new Map<string, WebFile>();
  const add = (path: string, body: Buffer) => files.set(path, { body, contentType: contentTypeOf(path) });

  const result = await build({
    entryPoints: [join(here, 'page', 'main.ts')],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome113', 'firefox121', 'safari17'],
    // onnxruntime-web's builds that load their wasm runtime from env.wasm.wasmPaths (served by us)
    // instead of embedding a copy of the loader.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    minify: options.minify ?? true,
    legalComments: 'none',
    write: false,
    outdir: 'out',
    entryNames: 'app',
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'silent',
  });
  for (const f of result.outputFiles) add(f.path.slice(f.path.lastIndexOf('/out/') + 5), Buffer.from(f.contents));
  add('index.html', await readFile(join(here, 'page', 'index.html')));
  add('style.css', await readFile(join(here, 'page', 'style.css')));
  const appBytes = [...files.values()].reduce((n, f) => n + f.body.length, 0);

  const require = createRequire(import.meta.url);
  const ortDist = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  for (const name of ORT_RUNTIME_FILES) add(`ort/${name}`, await readFile(join(ortDist, name)));

  const loaded = await loadModelCard(options.cardPath ?? cardPathFor('tiramisu'));
  add('model/card.json', Buffer.from(JSON.stringify(loaded.card)));
  add(`model/${loaded.card.file}`, loaded.weights);
  return { files, appBytes };
}

/** Netlify / Cloudflare Pages style `_headers`, so a static host sends WEB_HEADERS too. */
function headersFile(): string {
  return `/*\n${Object.entries(WEB_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`;
}

export async function writeWebBundle(outDir: string, bundle: WebBundle): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  for (const [path, file] of bundle.files) {
    const target = join(outDir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.body);
  }
  await writeFile(join(outDir, '_headers'), headersFile());
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'no-minify': { type: 'boolean' } } });
  const outDir = resolve(values.out ?? 'dist/web');
  const bundle = await buildWebBundle({ minify: !values['no-minify'] });
  await writeWebBundle(outDir, bundle);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const total = [...bundle.files.values()].reduce((n, f) => n + f.body.length, 0);
  process.stdout.write(
    `wrote ${bundle.files.size + 1} files to ${outDir}\n` +
      [...bundle.files].map(([p, f]) => `  ${p.padEnd(48)} ${kib(f.body.length).padStart(12)}\n`).join('') +
      `page (html + js + css): ${kib(bundle.appBytes)}; everything: ${kib(total)}\n` +
      `serve it with the headers in _headers (cross-origin isolation: WASM threads); without them the model runs on one thread\n`,
  );
}
