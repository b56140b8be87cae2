import { describe, expect, it } from 'vitest';
import { ERROR_CODES, StorageError, toPipelineError } from '#core/errors';
import { jobEventSchema, jobResultSchema, parseMessage } from '#core/messages';
import { jobEvent, jobResult } from '#test/events';

describe('toPipelineError', () => {
  it('keeps a PipelineError as it is', () => {
    const err = new StorageError('S3 GetObject s3://b/k failed: SlowDown');
    expect(toPipelineError(err)).toBe(err);
  });

  it.each([
    [new TypeError("Cannot read properties of undefined (reading 'dims')"), "TypeError: Cannot read properties of undefined (reading 'dims')"],
    ['a thrown string', 'a thrown string'],
  ])('makes anything else a permanent INTERNAL_ERROR that keeps its cause (%s)', (thrown, shown) => {
    const e = toPipelineError(thrown);
    expect(e).toMatchObject({ code: 'INTERNAL_ERROR', retryable: false, message: `Expected no internal error but one was thrown: ${shown}` });
    expect(e.cause).toBe(thrown);
  });
});

describe('the codes a result or webhook can carry', () => {
  it.each(ERROR_CODES)('a failed result with %s is valid', (code) => {
    const result = jobResult({ status: 'failed', error: { code, message: 'm' } });
    expect(jobResultSchema.safeParse(result).success).toBe(true);
  });

  it('a result or event with a code outside ERROR_CODES fails validation, naming the field and the code', () => {
    const result = { ...jobResult({ status: 'failed' }), error: { code: 'SOMETHING_ELSE', message: 'm' } };
    expect(() => parseMessage(jobResultSchema, result, 'results/x/result.json', 'result')).toThrow(/error\.code: .*received 'SOMETHING_ELSE'/);
    const event = { ...jobEvent({ type: 'job.failed', result: { status: 'failed' } }), result };
    expect(jobEventSchema.safeParse(event).success).toBe(false);
  });
});
