/**
 * `greenscreen run` on odd but valid files (plus corrupt ones) ends every job and exits 3 (every
 * job ended; the corrupt photos failed with recorded reasons: issue 18's exit table), run after
 * run (issue 11: it printed its summary and then died with SIGSEGV; the contact sheet scaled a
 * 10000x1 photo to a canvas millions of pixels wide). The CLI runs as a separate process, as a
 * user runs it, so a crash at exit shows as its exit status.
 */
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO } from '#harness/dev-process';
import { writeOddCorpus } from '#harness/odd-corpus';
import { startWebhookReceiver } from '#local/webhook-receiver';

const RUNS = 3;
let dir: string;
let names: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-odd-'));
  names = await writeOddCorpus(join(dir, 'in'));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

function run(out: string, extra: string[] = []): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'run', join(dir, 'in'), '--out', out, '--quiet', '--json', '--threads', '1', ...extra], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('greenscreen run on the odd-files corpus', () => {
  it(`ends every job and exits 3 (some photos failed, none lost) in ${RUNS} runs out of ${RUNS}`, async () => {
    // The first run also delivers to the user's own receiver (--webhook, loopback allowed locally).
    const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const receiver = await startWebhookReceiver({ secret });
    for (let i = 0; i < RUNS; i++) {
      const out = join(dir, `out-${i}`);
      const r = await run(out, i === 0 ? ['--webhook', receiver.url, '--webhook-secret', secret] : []);
      if (i === 0) {
        await receiver.close();
        const keys = new Set(receiver.deliveries.map((d) => (d.payload as { data: { source: { key: string } } }).data.source.key));
        expect(keys.size, 'one verified delivery per photo at --webhook').toBe(names.length);
        expect(receiver.rejected).toBe(0);
      }
      expect({ run: i, code: r.code, signal: r.signal }, r.stderr.slice(-2000)).toEqual({ run: i, code: 3, signal: null });
      const summary = JSON.parse(r.stdout) as { total: number; lost: number; succeeded: number; failures: { file: string; code: string }[] };
      expect(summary.total).toBe(names.length);
      expect(summary.lost).toBe(0);
      const failed = Object.fromEntries(summary.failures.map((f) => [f.file.split('/').pop(), f.code]));
      expect(failed).toEqual({ 'empty.webp': 'EMPTY_OBJECT', 'not-an-image.png': 'INVALID_IMAGE', 'truncated.jpg': 'INVALID_IMAGE' });
      expect(summary.succeeded).toBe(names.length - 3);
      const sheets = (summary as unknown as { contactSheets: string[] }).contactSheets;
      expect(sheets).toEqual([join(out, 'contact-sheet.jpg')]);
      const sheet = await sharp(sheets[0]!).metadata();
      expect(Math.max(sheet.width!, sheet.height!)).toBeLessThanOrEqual(4000);
      await access(join(out, 'wide-10000x1', 'mask.png'));
    }
  }, 600_000);
});
