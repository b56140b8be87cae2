/**
 * Issue 18: an exit status a script can branch on, the same table on every command, printed by
 * every --help, and the run's summary naming how many photos failed and why.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '#cli/main';
import { EXIT, photosExit, signalExit } from '#cli/exit-codes';
import { formatRunSummary, type RunSummary } from '#cli/run';
import { cli } from '#test/cli';

afterEach(() => vi.restoreAllMocks());

const summary = (over: Partial<RunSummary>): RunSummary => ({
  total: 10,
  succeeded: 10,
  failed: 0,
  lost: 0,
  seconds: 2,
  imagesPerSecond: 5,
  webhooksVerified: 10,
  contactSheets: [],
  failures: [],
  lostFiles: [],
  workerPeakRssMB: 300,
  ...over,
});

describe('the exit status table', () => {
  it.each([
    [{ failed: 0, lost: 0 }, 0],
    [{ failed: 3, lost: 0 }, 3],
    [{ failed: 0, lost: 1 }, 4],
    [{ failed: 2, lost: 1 }, 4],
  ])('a run with %j exits %i', (counts, code) => {
    expect(photosExit(counts)).toBe(code);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['parent-exited', 129],
  ])('stopped by %s: %i', (reason, code) => {
    expect(signalExit(reason)).toBe(code);
  });

  it('keeps 0, 1 and 2 for success, errors and usage', () => {
    expect([EXIT.ok, EXIT.error, EXIT.usage, EXIT.failed, EXIT.lost]).toEqual([0, 1, 2, 3, 4]);
  });

  it.each([...Object.keys(COMMANDS)])('%s --help prints the table and what it means for that command', async (name) => {
    const { code, out } = await cli(name, '--help');
    expect(code).toBe(0);
    expect(out).toMatch(/Exit status \(the same for every command\):\n {2}0 +every photo succeeded/);
    for (const n of ['1', '2', '3', '4', '128\\+N']) expect(out).toMatch(new RegExp(`\\n {2}${n} +\\S`));
    expect(out).toMatch(new RegExp(`\\n {2}${name}: 0 `));
  });

  it('greenscreen --help prints it too', async () => {
    const { code, out } = await cli('--help');
    expect(code).toBe(0);
    expect(out).toContain('Exit status (the same for every command)');
  });
});

describe("run's summary", () => {
  it('names how many photos failed, by code, and the first reasons', () => {
    const failures = Array.from({ length: 7 }, (_, i) => ({
      file: `in/p${i}.jpg`,
      code: i < 5 ? 'INVALID_OUTPUT_OPTION' : 'INVALID_IMAGE',
      message: `reason ${i}`,
    }));
    const text = formatRunSummary(summary({ succeeded: 3, failed: 7, failures }), 'out');
    expect(text).toContain('7 photos failed, each with a recorded reason (INVALID_OUTPUT_OPTION ×5, INVALID_IMAGE ×2):');
    expect(text).toContain('  failed: in/p0.jpg: INVALID_OUTPUT_OPTION: reason 0\n');
    expect(text).toContain('  failed: in/p4.jpg: INVALID_OUTPUT_OPTION: reason 4\n');
    expect(text).not.toContain('in/p5.jpg');
    expect(text).toContain('… and 2 more');
  });

  it('names the photos that never ended', () => {
    const text = formatRunSummary(summary({ succeeded: 8, lost: 2, lostFiles: ['in/a.jpg', 'in/b.jpg'] }), 'out');
    expect(text).toContain('2 photos never ended (lost, or unfinished at --timeout): in/a.jpg, in/b.jpg');
  });

  it('lists the contact sheets', () => {
    expect(formatRunSummary(summary({ contactSheets: ['out/contact-sheet.jpg'] }), 'out')).toContain('contact sheet: out/contact-sheet.jpg\n');
    const many = formatRunSummary(summary({ contactSheets: ['out/contact-sheet-01.jpg', 'out/contact-sheet-02.jpg', 'out/contact-sheet-03.jpg'] }), 'out');
    expect(many).toContain('contact sheets: 3, out/contact-sheet-01.jpg … out/contact-sheet-03.jpg');
  });
});
