/**
 * Child process of stack-fixture.ts: builds the requested scenarios, synthesises them and writes
 * what the tests look at (template, logical ids by construct path, image assets, warnings,
 * cdk-nag findings, acknowledgements) to a JSON file.
 *
 * Usage: node --import tsx test/infra/synth-child.ts <out.json> '<requests JSON>'
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type App, CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { type ScenarioName, scenarios } from './scenarios.ts';

export interface SynthRequest {
  scenario: ScenarioName;
  arg?: unknown;
  /** Also run cdk-nag's AwsSolutionsChecks over the app (as `cdk synth` does). */
  nag?: boolean;
}

export interface SynthResult {
  template: Record<string, unknown>;
  /** Construct path below the stack (e.g. "Storage/Uploads") -> logical id of it or its default child. */
  ids: Record<string, string>;
  dockerImages: Record<string, { source: Record<string, unknown> }>;
  warnings: { path: string; message: string }[];
  violations: { ruleName: string; severity: string; paths: string[] }[];
  acknowledgements: { path: string; id: string; reason: string }[];
}

function cfnElementOf(c: IConstruct): CfnElement | undefined {
  if (CfnElement.isCfnElement(c)) return c;
  const child = c.node.defaultChild;
  return child && CfnElement.isCfnElement(child) ? child : undefined;
}

function run(request: SynthRequest): SynthResult {
  const build = scenarios[request.scenario] as (arg: unknown) => Stack;
  const stack = build(request.arg);
  const app = stack.node.root as App;
  const assembly = app.synth();
  const artifact = assembly.getStackArtifact(stack.artifactId);

  const ids: Record<string, string> = {};
  for (const c of stack.node.findAll()) {
    const path = c.node.path.slice(stack.node.path.length + 1);
    const element = cfnElementOf(c);
    if (path && element && Stack.of(element) === stack) ids[path] = stack.resolve(element.logicalId) as string;
  }

  const assets = assembly.artifacts.find((a) => a.id === `${stack.artifactId}.assets`) as unknown as { file: string } | undefined;
  const dockerImages = assets ? ((JSON.parse(readFileSync(assets.file, 'utf8')) as Pick<SynthResult, 'dockerImages'>).dockerImages ?? {}) : {};

  const warnings = artifact.messages
    .filter((m) => m.level === 'warning')
    .map((m) => ({ path: m.id, message: String(m.entry.data) }));

  const violations = request.nag
    ? new AwsSolutionsChecks(app, { verbose: true }).validateScope(app).violations.map((v) => ({
        ruleName: v.ruleName,
        severity: v.severity ?? 'unknown',
        paths: v.violatingResources.map((r) => (r as { constructPath?: string }).constructPath ?? r.resourceLogicalId ?? '?'),
      }))
    : [];

  const acknowledgements = app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
  );

  return { template: artifact.template as Record<string, unknown>, ids, dockerImages, warnings, violations, acknowledgements };
}

const [outFile, requestsJson] = process.argv.slice(2);
if (!outFile || !requestsJson) throw new Error('Expected: synth-child.ts <out.json> <requests JSON>');
writeFileSync(outFile, JSON.stringify((JSON.parse(requestsJson) as SynthRequest[]).map(run)));
