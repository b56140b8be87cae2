import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWebBundle, ORT_RUNTIME_FILES, WEB_HEADERS, writeWebBundle, type WebBundle } from '#web/build';

describe('web bundle', () => {
  let bundle: WebBundle;
  beforeAll(async () => {
    bundle = await buildWebBundle();
  }, 60_000);

  it('holds the page, both onnxruntime-web runtimes, and the model with a card whose checksum matches', () => {
    const paths = [...bundle.files.keys()];
    expect(paths).toEqual(expect.arrayContaining(['index.html', 'style.css', 'app.js', ...ORT_RUNTIME_FILES.map((f) => `ort/${f}`), 'model/card.json', 'model/tiramisu.onnx']));
    expect(paths.filter((p) => p.startsWith('chunks/') && p.includes('ort.'))).toHaveLength(2); // wasm and webgpu builds, loaded on demand
    const card = JSON.parse(bundle.files.get('model/card.json')!.body.toString()) as { sha256: string; input: { longSide: number } };
    expect(createHash('sha256').update(bundle.files.get('model/tiramisu.onnx')!.body).digest('hex')).toBe(card.sha256);
    expect(bundle.files.get('ort/ort-wasm-simd-threaded.wasm')!.contentType).toBe('application/wasm');
  });

  it('keeps the page itself small: no framework', () => {
    expect(bundle.appBytes).toBeLessThan(200 * 1024);
    const app = bundle.files.get('app.js')!.body.toString();
    expect(app.length).toBeLessThan(40 * 1024);
  });

  it('references no other origin from its scripts and page', () => {
    for (const [path, file] of bundle.files) {
      if (!/\.(html|js|css)$/.test(path)) continue;
      const text = file.body.toString();
      expect(text, path).not.toMatch(/(src|href)\s*=\s*["']https?:\/\//);
      expect(text, path).not.toMatch(/cdn\.jsdelivr|unpkg\.com|cdnjs/);
    }
  });

  it('writes a static folder with the headers a host must send', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'greenscreen-web-'));
    try {
      await writeWebBundle(dir, bundle);
      expect(await readdir(dir)).toEqual(expect.arrayContaining(['index.html', 'app.js', 'ort', 'model', '_headers']));
      const headers = await readFile(join(dir, '_headers'), 'utf8');
      for (const [k, v] of Object.entries(WEB_HEADERS)) expect(headers).toContain(`  ${k}: ${v}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
