import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '#core/errors';
import { parseJobEvent } from '#notify/job-event';
import { jobEvent } from '#test/events';

describe('parseJobEvent', () => {
  it.each([
    ['succeeded', jobEvent()],
    ['failed', jobEvent({ result: { status: 'failed' } })],
    ['reprocessed', jobEvent({ result: { reprocess: { runId: 'run-1' } } })],
  ])('accepts a %s job event', (_name, event) => {
    expect(parseJobEvent(JSON.stringify(event), 'm-1')).toEqual(event);
  });

  it.each([
    ['not JSON', '{oops', 'Expected message m-1 to be a JSON job event but received 5 bytes that are not JSON'],
    ['wrong version', JSON.stringify({ ...jobEvent(), v: 2 }), 'Expected message m-1 to be a v1 job event but: v: Invalid literal value, expected 1'],
    [
      'unknown type',
      JSON.stringify({ ...jobEvent(), type: 'job.started' }),
      "Expected message m-1 to be a v1 job event but: type: Invalid enum value. Expected 'job.succeeded' | 'job.failed', received 'job.started'",
    ],
    [
      'type and status disagree',
      JSON.stringify({ ...jobEvent(), type: 'job.failed' }),
      'Expected message m-1 to be a v1 job event but: result.status: Expected status "failed" for a job.failed event but received "succeeded"',
    ],
    ['no result', JSON.stringify({ v: 1, type: 'job.succeeded', eventId: 'e' }), 'Expected message m-1 to be a v1 job event but: result: Required'],
  ])('rejects %s', (_name, body, message) => {
    expect(() => parseJobEvent(body, 'm-1')).toThrow(new InvalidEventError(message));
  });
});
