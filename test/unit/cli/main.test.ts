/**
 * The command line's manners (issue 11): per-command help, strict flags (usage + exit 2 on every
 * command), values validated, errors in words said once, hints where no stack is running.
 */
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PipelineError, StorageError } from '#core/errors';
import { commandHelp } from '#cli/args';
import { describeError } from '#cli/errors';
import { COMMANDS } from '#cli/main';
import { cli } from '#test/cli';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

afterEach(() => vi.restoreAllMocks());

describe('greenscreen <command> --help', () => {
  it.each(Object.keys(COMMANDS))('%s prints its own flags with defaults', async (name) => {
    const { code, out } = await cli(name, '--help');
    expect(code).toBe(0);
    expect(out).toBe(commandHelp(COMMANDS[name as keyof typeof COMMANDS]));
    expect(out).toContain(`Usage: greenscreen ${name}`);
  });

  it('differs from command to command', async () => {
    const texts = await Promise.all(Object.keys(COMMANDS).map(async (n) => (await cli(n, '--help')).out));
    expect(new Set(texts).size).toBe(texts.length);
    expect((await cli('dev', '--help')).out).toMatch(/--data-dir DIR +where the state is kept \(default \.greenscreen\/dev\)/);
    expect((await cli('run', '--help')).out).toMatch(/--batch N +photos per model run \(default 4\)/);
  });
});

describe('flags', () => {
  it.each([
    ['run', 'photos', '--out', 'o', '--bogus'],
    ['dev', '--bogus'],
    ['upload', 'a.jpg', '--bogus'],
    ['status', '--bogus'],
    ['webhooks', '--bogus'],
    ['eval', 'set', '--bogus'],
    ['reprocess', '--prefix', 'x', '--bogus'],
    ['status', '--out', 'o'],
  ])('unknown or foreign: %s … -> usage on stderr, exit 2', async (...argv) => {
    const { code, out, err } = await cli(...argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/Unknown option '--(bogus|out)'/);
    expect(err).toContain('Usage: greenscreen');
  });

  it.each([
    [['--batch', '0'], /Expected --batch to be a whole number of at least 1 but received "0"/],
    [['--batch=-3'], /Expected --batch to be a whole number of at least 1 but received "-3"/],
    [['--batch', 'four'], /Expected --batch to be a whole number of at least 1 but received "four"/],
    [['--threads', '0'], /Expected --threads to be a whole number of at least 1 but received "0"/],
    [['--threads', '1.5'], /Expected --threads to be a whole number of at least 1 but received "1.5"/],
    [['--timeout', '0'], /Expected --timeout to be a number above 0 but received "0"/],
    [['--timeout', 'soon'], /Expected --timeout to be a number above 0 but received "soon"/],
    [['--provider', 'tpu'], /Expected --provider to be one of auto, cpu, cuda but received "tpu"/],
    [['--webhook', 'ftp://x'], /Expected --webhook to be an http:\/\/ or https:\/\/ URL/],
    [['--webhook-secret', 'whsec_x'], /Expected --webhook <url> with --webhook-secret/],
  ])('run %j is refused before anything starts, exit 2', async (flags, message) => {
    const { code, err } = await cli('run', 'photos', '--out', 'o', ...flags);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toContain('Usage: greenscreen run');
  });

  it('dev refuses a port out of range', async () => {
    const { code, err } = await cli('dev', '--port', '70000');
    expect(code).toBe(2);
    expect(err).toMatch(/Expected --port to be a whole number from 0 to 65535 but received "70000"/);
  });

  it('a webhook URL the SSRF guard refuses is refused at start', async () => {
    const { code, err } = await cli('run', 'photos', '--out', 'o', '--webhook', 'http://169.254.169.254/latest');
    expect(code).toBe(2);
    expect(err).toMatch(/Expected a webhook URL the SSRF guard allows but http:\/\/169\.254\.169\.254\/.* is refused/);
  });

  it('GREENSCREEN_SUBSCRIPTIONS that is not valid is named', async () => {
    vi.stubEnv('GREENSCREEN_SUBSCRIPTIONS', '[{"prefix":"","url":"http://127.0.0.1:9/x"}]');
    try {
      const { code, err } = await cli('run', 'photos', '--out', 'o');
      expect(code).toBe(1);
      expect(err).toMatch(/^greenscreen: CONFIG_ERROR: Invalid subscriptions in \$GREENSCREEN_SUBSCRIPTIONS: \[0\.secrets\] Required\n$/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('arguments and errors', () => {
  it('upload with no files is a usage error', async () => {
    const { code, err } = await cli('upload');
    expect(code).toBe(2);
    expect(err).toMatch(/^greenscreen upload: Expected at least one file or folder to upload but received none/);
  });

  it('upload of a folder without images is a usage error', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'gs-empty-'));
    const { code, err } = await cli('upload', empty);
    expect(code).toBe(2);
    expect(err).toMatch(/Expected image files .* in .*gs-empty-.* but found none/);
  });

  it.each([['status'], ['upload', 'package.json']])('%s with no stack running says to start one', async (...argv) => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const { code, err } = await cli(...argv, '--endpoint', endpoint);
    expect(code).toBe(1);
    expect(err).toBe(`greenscreen: CONFIG_ERROR: Expected a greenscreen stack at ${endpoint} but nothing listens there; start one with \`greenscreen dev\`\n`);
  });

  it('a missing input folder is said in words, once', async () => {
    const { code, err } = await cli('run', 'photos/nope', '--out', join(tmpdir(), 'gs-out'));
    expect(code).toBe(1);
    expect(err).toBe('greenscreen: Expected a file or folder at photos/nope but there is none\n');
  });

  it('describeError prints a code once and reads causes', () => {
    const wrapped = new StorageError('S3 PutObject s3://b/k failed: connect ECONNREFUSED 127.0.0.1:4566', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 4566 }),
    });
    expect(describeError(wrapped)).toBe('Expected a greenscreen stack at 127.0.0.1:4566 but nothing answers there; start one with `greenscreen dev`');
    expect(describeError(new PipelineError('CONFIG_ERROR', 'CONFIG_ERROR: Expected x but received y'))).toBe('CONFIG_ERROR: Expected x but received y');
    expect(describeError(new PipelineError('CONFIG_ERROR', 'Expected x but received y'))).toBe('CONFIG_ERROR: Expected x but received y');
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, scandir 'photos/nope'"), { code: 'ENOENT', syscall: 'scandir', path: 'photos/nope' });
    expect(describeError(enoent)).toBe('Expected a file or folder at photos/nope but there is none');
  });

  it('an unknown command is a usage error', async () => {
    const { code, err } = await cli('frobnicate');
    expect(code).toBe(2);
    expect(err).toMatch(/Expected a command \(run, dev, upload, status, webhooks, eval, reprocess\) but received "frobnicate"/);
  });
});
