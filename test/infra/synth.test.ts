/**
 * The real thing: `npx cdk synth -q` through cdk.json, as a developer or CI runs it, with no AWS
 * credentials, no network and no Docker. A fake `docker` first on PATH records any call: the
 * Lambda functions must be bundled by the local esbuild, and the worker image must only be
 * fingerprinted (it is built at deploy time).
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER } from '../../infra/lib/constructs/pipeline-function.ts';
import { REPO_ROOT } from '../../infra/lib/model-card.ts';
import { STACK_NAME } from '../../infra/lib/pipeline-app.ts';
import { FIRST_SYNTH_TIMEOUT_MS, SYNTH_TIMEOUT_MS } from './stack-fixture.ts';

interface AssetManifest {
  files: Record<string, { source: { path: string; packaging: string } }>;
  dockerImages: Record<string, { source: { directory: string; dockerFile: string; dockerBuildTarget: string } }>;
}

/** The environment minus anything that could reach AWS. */
function offlineEnv(fakeBin: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')));
  return {
    ...env,
    PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

describe('npx cdk synth', { timeout: SYNTH_TIMEOUT_MS }, () => {
  let work: string;
  let out: string;
  let dockerCalls: string;
  let manifest: AssetManifest;
  let result: { stdout: string; stderr: string };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'greenscreen-synth-'));
    out = join(work, 'cdk.out');
    dockerCalls = join(work, 'docker-calls.log');
    const fakeBin = join(work, 'bin');
    const fakeDocker = join(fakeBin, 'docker');
    await promisify(execFile)('mkdir', ['-p', fakeBin]);
    writeFileSync(fakeDocker, `#!/bin/sh\necho "docker $*" >> '${dockerCalls}'\nexit 1\n`);
    chmodSync(fakeDocker, 0o755);

    result = await promisify(execFile)('npx', ['cdk', 'synth', '-q', '--no-notices', '-o', out], {
      cwd: REPO_ROOT,
      env: offlineEnv(fakeBin),
      maxBuffer: 64 * 1024 * 1024,
    });
    manifest = JSON.parse(readFileSync(join(out, `${STACK_NAME}.assets.json`), 'utf8')) as AssetManifest;
  }, FIRST_SYNTH_TIMEOUT_MS);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('succeeds offline (cdk-nag included: any unacknowledged finding fails synth) and writes the template', () => {
    expect(result.stderr).not.toMatch(/AwsSolutions-|Synthesis finished with errors/);
    expect(existsSync(join(out, `${STACK_NAME}.template.json`))).toBe(true);
  });

  it('never calls Docker', () => {
    expect(existsSync(dockerCalls) ? readFileSync(dockerCalls, 'utf8') : '').toBe('');
  });

  it('bundles ingest and notify with esbuild into ESM with the require banner and a source map', () => {
    const bundles = Object.values(manifest.files)
      .filter((f) => f.source.packaging === 'zip')
      .map((f) => join(out, f.source.path))
      .filter((dir) => existsSync(join(dir, 'index.mjs')));

    expect(bundles).toHaveLength(2);
    for (const dir of bundles) {
      expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      expect(readFileSync(join(dir, 'index.mjs'), 'utf8').startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    }
  });

  it('only fingerprints the worker image: one Docker asset, built at deploy time from functions/segment/Dockerfile', () => {
    const images = Object.values(manifest.dockerImages);

    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({ dockerFile: 'functions/segment/Dockerfile', dockerBuildTarget: 'gpu' });
  });
});
