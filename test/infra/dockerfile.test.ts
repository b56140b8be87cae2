/**
 * The worker image cannot be built here (no Docker engine), so this checks what can be checked
 * without one: every file the Dockerfile copies exists and survives .dockerignore, the stages
 * CDK builds exist, the final images run the worker as a non-root user without build tools, the
 * CUDA provider override beats .npmrc, and the checksum step accepts the real model and refuses
 * a tampered one.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_CARD_IN_IMAGE, MODEL_CARD_PATH, REPO_ROOT } from '../../infra/lib/model-card.ts';

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

  it('installs production dependencies with the CUDA 12 provider of onnxruntime-node, overriding .npmrc', () => {
    const deps = stage('deps');

    expect(readFileSync(resolve(REPO_ROOT, '.npmrc'), 'utf8')).toMatch(/onnxruntime-node-install=skip/);
    expect(ofKind(deps, 'ARG').map((i) => i.args)).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect(ofKind(deps, 'ENV').map((i) => i.args)).toContain('ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL}');
    expect(ofKind(deps, 'RUN').map((i) => i.args).join(' ')).toMatch(/npm ci --omit=dev/);
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
