import { afterEach, describe, expect, it, vi } from 'vitest';
import { reprocessCommand } from '#cli/reprocess';

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
    [['--concurrency', '0'], 'Expected --concurrency to be a number above 0 but received "0"'],
    [['--concurrency', '2.5'], 'Expected --concurrency to be a whole number but received "2.5"'],
    [['--rate', 'fast'], 'Expected --rate to be a number above 0 but received "fast"'],
    [['--rate', ''], 'Expected --rate to be a number above 0 but received ""'],
    [['--stale-check', 'guess'], 'Expected --stale-check index or head but received "guess"'],
  ])('refuses %j before touching any endpoint: a usage error (exit 2), one line', async (args, message) => {
    const io = capture();
    expect(await reprocessCommand(['--prefix', 'incoming/', '--endpoint', 'http://127.0.0.1:9', ...args])).toBe(2);
    expect(io.err()).toBe(`greenscreen reprocess: ${message}; see \`greenscreen reprocess --help\`\n`);
  });

  it.skipIf(process.platform !== 'linux')('refuses a --checkpoint-dir that cannot be created, at once (exit 2)', async () => {
    const io = capture();
    expect(await reprocessCommand(['--prefix', 'incoming/', '--endpoint', 'http://127.0.0.1:9', '--checkpoint-dir', '/proc/nope'])).toBe(2);
    expect(io.err()).toMatch(/^greenscreen reprocess: Expected --checkpoint-dir \/proc\/nope to be a folder that can be created but creating \/proc\/nope failed \(\w+\)/);
  });

  it('--help ends with the exit status table', async () => {
    const io = capture();
    expect(await reprocessCommand(['--help'])).toBe(0);
    expect(io.out()).toMatch(/Exit status[\s\S]*\n {2}3 +every job ended but some photos failed[\s\S]*reprocess: 0 when the run completed/);
  });
});
