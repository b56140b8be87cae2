/**
 * Synthesises test scenarios (scenarios.ts) in a child process and wraps what comes back.
 *
 * Why a child process: synthesis is synchronous and CPU-bound. On a machine whose CPU a training
 * run holds, one synth can take minutes of wall-clock time, and a vitest worker blocked that long
 * misses its own RPC deadlines (60 s) and fails the run with "Timeout calling onTaskUpdate" even
 * though every test passed. Awaiting a child keeps the worker responsive.
 *
 * Logical ids are looked up by construct path ("Storage/Uploads"), as computed by the synthesis
 * itself: tests never paste generated (hashed) ids.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Template } from 'aws-cdk-lib/assertions';
import { REPO_ROOT } from '../../infra/lib/model-card.ts';
import type { ScenarioArg, ScenarioName } from './scenarios.ts';
import type { SynthRequest, SynthResult } from './synth-child.ts';

/** Per test: they only read templates synthesised in beforeAll. */
export const SYNTH_TIMEOUT_MS = 60_000;
/**
 * For the beforeAll hooks that synthesise: seconds normally, minutes on a CPU held by a training
 * run (this includes starting the child and loading aws-cdk-lib).
 */
export const FIRST_SYNTH_TIMEOUT_MS = 600_000;

const CHILD = resolve(REPO_ROOT, 'test/infra/synth-child.ts');

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
  Principal?: unknown;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

export class Synthesised {
  readonly template: Template;

  constructor(readonly raw: SynthResult) {
    this.template = Template.fromJSON(raw.template);
  }

  /** Logical id of the construct at `path` below the stack (or of its default child). */
  id(path: string): string {
    const id = this.raw.ids[path];
    if (!id) {
      const near = Object.keys(this.raw.ids).filter((p) => p.startsWith(path.split('/')[0]!));
      throw new Error(`Expected a resource at ${path} but there is none; nearby: ${near.slice(0, 20).join(', ')}`);
    }
    return id;
  }

  ref(path: string) {
    return { Ref: this.id(path) };
  }

  att(path: string, attribute: string) {
    return { 'Fn::GetAtt': [this.id(path), attribute] };
  }

  arn(path: string) {
    return this.att(path, 'Arn');
  }

  /** `<bucket ARN>/<prefix>*`, as CloudFormation renders bucket.arnForObjects(prefix + '*'). */
  objectsArn(bucketPath: string, prefix: string) {
    return { 'Fn::Join': ['', [this.arn(bucketPath), `/${prefix}*`]] };
  }

  props(path: string): Record<string, unknown> {
    const resources = this.raw.template.Resources as Record<string, { Properties?: Record<string, unknown> }>;
    return resources[this.id(path)]?.Properties ?? {};
  }

  /** Resources of one type as [logicalId, properties]. */
  resourcesOfType(type: string): [string, Record<string, unknown>][] {
    return Object.entries(this.template.findResources(type)).map(([id, r]) => [id, (r as { Properties?: Record<string, unknown> }).Properties ?? {}]);
  }

  /** Every statement of every identity policy in the template (AWS::IAM::Policy and roles' inline Policies). */
  allStatements(): Statement[] {
    const inPolicies = this.resourcesOfType('AWS::IAM::Policy').flatMap(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
    const inRoles = this.resourcesOfType('AWS::IAM::Role').flatMap(([, p]) =>
      ((p.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((pol) => pol.PolicyDocument.Statement),
    );
    return [...inPolicies, ...inRoles];
  }

  /** Every statement of the inline policies attached to the role at `rolePath`. */
  statementsOfRole(rolePath: string): Statement[] {
    const role = JSON.stringify(this.ref(rolePath));
    return this.resourcesOfType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Roles as unknown[]).some((r) => JSON.stringify(r) === role))
      .flatMap(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
  }
}

type Request<N extends ScenarioName> = { scenario: N; arg?: ScenarioArg<N>; nag?: boolean };

/** Synthesise several scenarios in one child process (one aws-cdk-lib load), in order. */
export async function synthesiseAll<const R extends readonly Request<ScenarioName>[]>(requests: R): Promise<{ -readonly [K in keyof R]: Synthesised }> {
  const dir = mkdtempSync(join(tmpdir(), 'greenscreen-infra-test-'));
  const out = join(dir, 'result.json');
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, out, JSON.stringify(requests satisfies readonly SynthRequest[])], {
      cwd: REPO_ROOT,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    });
    return (JSON.parse(readFileSync(out, 'utf8')) as SynthResult[]).map((r) => new Synthesised(r)) as { -readonly [K in keyof R]: Synthesised };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function synthesise<N extends ScenarioName>(scenario: N, arg?: ScenarioArg<N>, options: { nag?: boolean } = {}): Promise<Synthesised> {
  const [result] = await synthesiseAll([{ scenario, ...(arg === undefined ? {} : { arg }), ...options }] as const);
  return result;
}
