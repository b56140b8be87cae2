import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobList } from '#web/api';
import { runOnce } from '#cli/run';
import { photoPath } from '#harness/images';

describe('greenscreen run --web-port', () => {
  it("serves the page while the run lasts, its job list following the run's photos to their ends", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'greenscreen-run-page-'));
    try {
      const input = join(dir, 'in');
      await mkdir(input);
      await copyFile(photoPath(4), join(input, 'a.jpg'));
      await copyFile(photoPath(5), join(input, 'b.jpg'));
      await writeFile(join(input, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01, 0x02]));

      const seen = new Map<string, Set<string>>();
      let pageStatus = 0;
      let polling: Promise<void> | undefined;
      let done = false;
      const summary = await runOnce({
        inputDir: input,
        outDir: join(dir, 'out'),
        batchSize: 2,
        threads: 1,
        contactSheet: false,
        quiet: true,
        webPort: 0,
        onPage: (url) => {
          expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
          polling = (async () => {
            pageStatus = (await fetch(url)).status;
            while (!done) {
              const list = (await (await fetch(`${url}api/jobs`)).json()) as JobList;
              for (const j of list.jobs) seen.set(j.key, (seen.get(j.key) ?? new Set()).add(j.status));
              await new Promise((r) => setTimeout(r, 100));
            }
          })().catch(() => undefined); // the server goes away when the run ends
        },
      });
      done = true;
      await polling;
      expect(summary).toMatchObject({ total: 3, succeeded: 2, failed: 1, lost: 0 });
      expect(pageStatus).toBe(200);
      // Every photo was listed while the run went on; the run ends as soon as the last webhook
      // arrives, so the page may not have shown the last end states, but it showed some.
      expect([...seen.keys()].sort()).toEqual(['incoming/a.jpg', 'incoming/b.jpg', 'incoming/broken.jpg']);
      const statuses = [...seen.values()].flatMap((s) => [...s]);
      expect(statuses.every((s) => ['queued', 'running', 'succeeded', 'failed'].includes(s))).toBe(true);
      expect(statuses.filter((s) => s === 'succeeded' || s === 'failed').length).toBeGreaterThan(0);
      expect([...(seen.get('incoming/a.jpg') ?? [])]).not.toContain('failed');
      expect([...(seen.get('incoming/broken.jpg') ?? [])]).not.toContain('succeeded');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
