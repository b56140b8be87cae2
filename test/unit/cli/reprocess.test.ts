import { describe, expect, it } from 'vitest';
import { commandHelp } from '#cli/args';
import { REPROCESS_COMMAND } from '#cli/reprocess';
import { cli } from '#test/cli';

describe('greenscreen reprocess (arguments)', () => {
  it('--help prints the usage, from the same flag spec as every command, and succeeds', async () => {
    const { code, out } = await cli('reprocess', '--help');
    expect(code).toBe(0);
    expect(out).toBe(commandHelp(REPROCESS_COMMAND));
    expect(out).toContain('greenscreen reprocess --prefix <p>');
    expect(out).toContain('greenscreen reprocess --aws --status <job id>');
    expect(out).toMatch(/--stale-check index\|head +index: list the worker's results\/\.index\/<model>\/ markers.*\(default index\)/);
  });

  it.each([
    [[], 'Expected --prefix <p> (use --prefix "" for the whole bucket)'],
    [['--prefix', 'x', '--nope'], "Unknown option '--nope'"],
    [['--prefix', 'x', 'extra'], 'Expected no arguments but received "extra"'],
  ])('%j is a usage error: the message and the usage on stderr, exit 2', async (args, message) => {
    const { code, out, err } = await cli('reprocess', ...args);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(`greenscreen reprocess: ${message}`);
    expect(err).toContain('Usage: greenscreen reprocess --prefix <p> [options]');
  });

  it('--status without --aws is refused in one line (exit 2)', async () => {
    const { code, err } = await cli('reprocess', '--status', 'job-1');
    expect(code).toBe(2);
    expect(err).toBe('greenscreen reprocess: Expected --aws with --status <job id> (local runs report progress as they go)\n');
  });

  it.each([
    [['--concurrency', '0'], 'Expected --concurrency to be a whole number of at least 1 but received "0"'],
    [['--concurrency', '2.5'], 'Expected --concurrency to be a whole number of at least 1 but received "2.5"'],
    [['--page-size', 'many'], 'Expected --page-size to be a whole number of at least 1 but received "many"'],
    [['--rate', 'fast'], 'Expected --rate to be a number above 0 but received "fast"'],
    [['--rate', ''], 'Expected --rate to be a number above 0 but received ""'],
    [['--stale-check', 'guess'], 'Expected --stale-check to be one of index, head but received "guess"'],
    [['--endpoint', 'localhost:4566'], 'Expected --endpoint to be an http:// or https:// URL but received "localhost:4566"'],
  ])('refuses %j before touching any endpoint, as every command refuses a bad value (usage, exit 2)', async (args, message) => {
    const { code, err } = await cli('reprocess', '--prefix', 'incoming/', '--endpoint', 'http://127.0.0.1:9', ...args);
    expect(code).toBe(2);
    expect(err).toMatch(new RegExp(`^greenscreen reprocess: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n\nUsage: greenscreen reprocess`));
  });

  it.skipIf(process.platform !== 'linux')('refuses a --checkpoint-dir that cannot be created, at once, in one line (exit 2)', async () => {
    const { code, err } = await cli('reprocess', '--prefix', 'incoming/', '--endpoint', 'http://127.0.0.1:9', '--checkpoint-dir', '/proc/nope');
    expect(code).toBe(2);
    expect(err).toMatch(/^greenscreen reprocess: Expected --checkpoint-dir \/proc\/nope to be a folder that can be created but creating \/proc\/nope failed \(\w+\)[^\n]*\n$/);
  });

  it('--help ends with the exit status table and what it means for reprocess', async () => {
    const { out } = await cli('reprocess', '--help');
    expect(out).toMatch(/Exit status[\s\S]*\n {2}3 +every job ended but some photos failed[\s\S]*reprocess: 0 when the run completed/);
  });
});
