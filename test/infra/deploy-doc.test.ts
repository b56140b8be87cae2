/**
 * docs/deploy.md quotes numbers the code decides: dead-letter thresholds, ingest's reserved
 * concurrency, the scaling policies' cooldowns and windows, the health check. Each quote is checked
 * against the constant it comes from, so a change to the code that leaves the guide behind fails.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESOURCE_DEFAULTS } from '#core/resources';
import { HEARTBEAT_MAX_AGE_SECONDS, JOB_STALL_SECONDS } from '#segment/heartbeat';
import { COLD_START, IDLE_MINUTES_TO_ZERO, OVERSIZED_MINUTES_TO_SHED } from '../../infra/lib/constructs/backlog-scaling.ts';
import { HEALTH_CHECK } from '../../infra/lib/constructs/segment-worker.ts';
import { REPO_ROOT } from '../../infra/lib/model-card.ts';
import { DEFAULT_SETTINGS } from '../../infra/lib/settings.ts';

const doc = readFileSync(resolve(REPO_ROOT, 'docs/deploy.md'), 'utf8').replace(/\s+/g, ' ');
const jobs = RESOURCE_DEFAULTS.jobsQueue.maxReceiveCount;
const events = RESOURCE_DEFAULTS.eventsQueue.maxReceiveCount;

describe('docs/deploy.md quotes the code', () => {
  it('dead-letter thresholds: jobs after 5 receives, events (webhook attempts) after 15', () => {
    expect(doc).toContain(`after ${jobs} and ${events} receives`);
    expect(doc).toContain(`jobs that failed ${jobs} times`);
    expect(doc).toContain(`events whose webhooks failed ${events} times`);
    expect(doc).toContain(`up to ${events} attempts`);
    expect(doc).toContain(`a job was received ${jobs} times`);
    expect(doc).toContain(`an event's webhooks failed ${events} times`);
    const quoted = [...doc.matchAll(/(?:failed|received) (\d+) times|up to (\d+) attempts|after (\d+) and (\d+) receives/g)].flatMap((m) => m.slice(1).filter(Boolean).map(Number));
    expect(new Set(quoted)).toEqual(new Set([jobs, events]));
  });

  it("ingest's reserved concurrency default", () => {
    expect(doc).toContain(`| \`ingestConcurrency\` | \`${DEFAULT_SETTINGS.ingestConcurrency}\` |`);
    expect(doc).toContain(`(\`ingestConcurrency\`, ${DEFAULT_SETTINGS.ingestConcurrency})`);
  });

  it('scaling: cold-start cooldowns and the scale-in windows', () => {
    expect(doc).toContain(`**${COLD_START.gpu.toMinutes()} minutes on GPU, ${COLD_START.cpu.toMinutes()} on CPU**`);
    expect(doc).toContain(`for ${OVERSIZED_MINUTES_TO_SHED} minutes | −1`);
    expect(doc).toContain(`for ${IDLE_MINUTES_TO_ZERO} minutes | 0 tasks`);
  });

  it('health check: heartbeat age, stall limit, interval, retries and start period', () => {
    expect(doc).toContain(`older than ${HEARTBEAT_MAX_AGE_SECONDS / 60} minutes`);
    expect(doc).toContain(`in flight for ${JOB_STALL_SECONDS / 60} minutes`);
    expect(doc).toContain(
      `every ${HEALTH_CHECK.interval.toSeconds()} s (${HEALTH_CHECK.retries} retries, ${HEALTH_CHECK.startPeriod.toMinutes()} minutes to start)`,
    );
    expect(doc).toContain(`\`${HEALTH_CHECK.command.slice(1).join(' ')}\``);
  });
});
