import { afterEach, describe, expect, it, vi } from 'vitest';
import { reprocessCommand } from '../../../functions/cli/reprocess.ts';

function capture() {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  return { out: () => out, err: () => err };
}

afterEach(() => vi.restoreAllMocks());

describe('greenscreen reprocess (arguments)', () => {
  it('--help prints the usage and succeeds', async () => {
    const io = capture();
    expect(await reprocessCommand(['--help'])).toBe(0);
    expect(io.out()).toContain('greenscreen reprocess --prefix <p>');
    expect(io.out()).toContain('greenscreen reprocess --aws --status <job id>');
  });

  it.each([
    [[], 'Expected --prefix <p> (use --prefix "" for the whole bucket)'],
    [['--status', 'job-1'], 'Expected --aws with --status <job id>'],
    [['--prefix', 'x', '--nope'], "Unknown option '--nope'"],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const io = capture();
    expect(await reprocessCommand(args)).toBe(2);
    expect(io.err()).toContain(message);
  });

  it.each([
    [['--concurrency', '0'], 'CONFIG_ERROR: Expected --concurrency to be a number above 0 but received "0"'],
    [['--concurrency', '2.5'], 'CONFIG_ERROR: Expected --concurrency to be a whole number but received "2.5"'],
    [['--rate', 'fast'], 'CONFIG_ERROR: Expected --rate to be a number above 0 but received "fast"'],
    [['--stale-check', 'guess'], 'CONFIG_ERROR: Expected --stale-check index or head but received "guess"'],
  ])('refuses %j before touching any endpoint (exit 1)', async (args, message) => {
    const io = capture();
    expect(await reprocessCommand(['--prefix', 'incoming/', '--endpoint', 'http://127.0.0.1:9', ...args])).toBe(1);
    expect(io.err()).toContain(message);
  });
});
