import { describe, expect, it } from 'vitest';
import { createIngestHandler, type S3EventSummary } from '#ingest/handler';
import { systemClock } from '#core/ports';
import type { SegmentJob } from '#core/types';
import { InMemoryObjectStore } from '#test/fakes';
import { captureLogs } from '#test/logs';
import { InMemoryJobQueue } from '#test/queues';
import { s3Event } from '#test/s3-events';

function setup() {
  const queue = new InMemoryJobQueue<SegmentJob>();
  const logs = captureLogs('ingest');
  const handler = createIngestHandler({
    queue,
    store: new InMemoryObjectStore(),
    clock: systemClock,
    modelVersion: 'm1',
    maxBytes: 1000,
    acceptPrefix: 'incoming/',
    logger: logs.logger,
  });
  return { queue, logs, handler };
}

describe('ingest handler (S3 ObjectCreated events)', () => {
  it.each([
    ['spaces as +', 'incoming/my+photo.jpg', 'incoming/my photo.jpg'],
    ['a literal +', 'incoming/a%2Bb.jpg', 'incoming/a+b.jpg'],
    ['a literal %', 'incoming/100%25.jpg', 'incoming/100%.jpg'],
    ['unicode', 'incoming/caf%C3%A9+%F0%9F%93%B7.jpg', 'incoming/café 📷.jpg'],
    ['sub-folders', 'incoming/a/b/c.JPG', 'incoming/a/b/c.JPG'],
  ])('URL-decodes keys (%s)', async (_name, encoded, decoded) => {
    const { queue, handler, logs } = setup();
    await handler(s3Event({ encodedKey: encoded, size: 100 }));
    logs.restore();
    expect(queue.bodies().map((b) => b.source.key)).toEqual([decoded]);
  });

  it('accepts only the input prefix and ignores folder markers', async () => {
    const { queue, handler, logs } = setup();
    const res = (await handler(
      s3Event({ encodedKey: 'results/x.jpg/mask.png' }, { encodedKey: 'incoming/folder/', size: 0 }, { encodedKey: 'incoming/ok.png', size: 100 }),
    )) as S3EventSummary;
    logs.restore();
    expect(queue.bodies().map((b) => b.source.key)).toEqual(['incoming/ok.png']);
    expect(res.outcomes.filter((o) => o.status === 'skipped').map((o) => o.status === 'skipped' && o.reason)).toEqual([
      'outside the input prefix "incoming/"',
      'folder marker',
    ]);
  });

  it.each([
    ['an empty object', { encodedKey: 'incoming/empty.jpg', size: 0 }, 'EMPTY_OBJECT', 'Expected an image but received an empty (0-byte) object'],
    ['an object over the size limit', { encodedKey: 'incoming/big.jpg', size: 5000 }, 'IMAGE_TOO_LARGE', 'Expected an upload of at most 1000 bytes but received 5000 bytes'],
    ['an unknown extension', { encodedKey: 'incoming/notes.txt', size: 100 }, 'UNSUPPORTED_FORMAT', 'but received ".txt"'],
    ['a ".." key segment', { encodedKey: 'incoming/a/../b.jpg', size: 100 }, 'UNSUPPORTED_KEY', 'without "." or ".." path segments'],
    ['a "." key segment', { encodedKey: 'incoming/./b.jpg', size: 100 }, 'UNSUPPORTED_KEY', 'but received "incoming/./b.jpg"'],
  ])('records a reason for %s (the job is enqueued flagged, so the user hears about it)', async (_n, input, code, message) => {
    const { queue, handler, logs } = setup();
    await handler(s3Event(input));
    logs.restore();
    const [job] = queue.bodies();
    expect(job?.rejection?.code).toBe(code);
    expect(job?.rejection?.message).toContain(message);
  });

  it('accepts dots that are not whole segments', async () => {
    const { queue, handler, logs } = setup();
    for (const encodedKey of ['incoming/..jpg', 'incoming/.hidden.jpg', 'incoming/a.../b.jpg', 'incoming/.../c.jpg']) {
      await handler(s3Event({ encodedKey, eTag: encodedKey, size: 100 }));
    }
    logs.restore();
    expect(queue.bodies().map((b) => b.rejection)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('gives a re-delivered event the same job id, so no second job is created', async () => {
    const { queue, handler, logs } = setup();
    const event = s3Event({ encodedKey: 'incoming/a.jpg', eTag: 'abc' });
    await handler(event);
    await handler(event);
    logs.restore();
    expect(queue.sent).toHaveLength(1);
  });

  it('gives a different job id to a new version of the same key and to a new model', async () => {
    const { queue, handler, logs } = setup();
    await handler(s3Event({ encodedKey: 'incoming/a.jpg', eTag: 'v1' }, { encodedKey: 'incoming/a.jpg', eTag: 'v2' }));
    logs.restore();
    const [a, b] = queue.bodies();
    expect(a!.jobId).not.toBe(b!.jobId);
    expect(a!.jobId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('throws when SQS refuses a job after retries, so the S3 invocation is retried (nothing lost)', async () => {
    const { queue, handler, logs } = setup();
    queue.refuseNext.set('0', 'InternalError: try again');
    await expect(handler(s3Event({ encodedKey: 'incoming/a.jpg' }))).rejects.toThrow(
      'Could not enqueue 1 of 1 objects: incoming/a.jpg',
    );
    logs.restore();
  });

  it('rejects events that are neither S3 notifications nor Batch Operations invocations', async () => {
    const { handler, logs } = setup();
    await expect(handler({ hello: 'world' } as never)).rejects.toThrow(
      'Expected an S3 event notification or an S3 Batch Operations invocation but received neither',
    );
    logs.restore();
  });
});
