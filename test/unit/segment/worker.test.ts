/**
 * The poll loop when a job's visibility lapses while it is still being worked on (the heartbeat
 * stalled or its ChangeMessageVisibility failed): SQS hands the same message out again, with a new
 * receipt handle. The worker must keep one job going, not start a second, and delete with the
 * newest handle (SQS ignores deletes with an older one, so the message would come back again and
 * again, each time processed anew, until the redrive policy parked it in the DLQ). Also: which
 * failed visibility extensions are worth a warning, and what a bug in the job does.
 */
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '#core/logger';
import { systemClock, type MessageQueue, type OutgoingMessage, type ReceivedMessage } from '#core/ports';
import type { JobEvent, SegmentJob } from '#core/types';
import { segmenterOnSession } from '#segment/inference';
import { TEST_CARD } from '#test/model-card';
import type { ModelSession } from '#segment/model-session';
import { SegmentWorker } from '#segment/worker';
import { InMemoryObjectStore } from '#test/fakes';

const CARD = TEST_CARD;

/** A model session that holds every batch until `open()` is called. */
function gatedSession() {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const runs: number[] = [];
  const session: ModelSession = {
    provider: 'cpu',
    threadIds: [],
    async run(_input, dims) {
      runs.push(dims[0]);
      await gate;
      return new Float32Array(dims[0] * dims[2] * dims[3]).fill(0.9);
    },
    release: async () => undefined,
  };
  return { session, runs, open };
}

/** An events queue that records what the worker publishes. */
function recordingEventQueue(): { events: MessageQueue<JobEvent>; published: OutgoingMessage<JobEvent>[] } {
  const published: OutgoingMessage<JobEvent>[] = [];
  const events: MessageQueue<JobEvent> = {
    sendBatch: async (m) => (published.push(...m), { failed: [] }),
    receive: async () => [],
    delete: async () => undefined,
    extendVisibility: async () => undefined,
    release: async () => undefined,
  };
  return { events, published };
}

/** A jobs queue that hands out one message once, then nothing, and records the handles it deletes. */
function oneMessageQueue(job: SegmentJob): { jobs: MessageQueue<SegmentJob>; deleted: string[] } {
  let receives = 0;
  const deleted: string[] = [];
  const jobs: MessageQueue<SegmentJob> = {
    sendBatch: async () => ({ failed: [] }),
    async receive() {
      if (++receives === 1) return [{ messageId: 'm-1', receiptHandle: 'handle-1', body: job, receiveCount: 1 }];
      await new Promise((r) => setTimeout(r, 5));
      return [];
    },
    delete: async (h) => void deleted.push(h),
    extendVisibility: async () => undefined,
    release: async () => undefined,
  };
  return { jobs, deleted };
}

/** A small JPEG stored at incoming/p.jpg and the job that points at it. */
async function storedPhotoJob(jobId: string): Promise<{ store: InMemoryObjectStore; job: SegmentJob }> {
  const store = new InMemoryObjectStore();
  const photo = await sharp({ create: { width: 40, height: 60, channels: 3, background: '#884422' } }).jpeg().toBuffer();
  const { etag } = await store.put('bucket', 'incoming/p.jpg', photo, { contentType: 'image/jpeg' });
  const job: SegmentJob = {
    v: 1,
    jobId,
    source: { bucket: 'bucket', key: 'incoming/p.jpg', etag, size: photo.length },
    modelVersion: 'test',
    enqueuedAt: new Date().toISOString(),
  };
  return { store, job };
}

describe('SegmentWorker', () => {
  it('keeps one job going when its message is redelivered while in flight, and deletes with the newest receipt handle', async () => {
    // Arrange: a photo, and a queue that hands the same message out twice.
    const { store, job } = await storedPhotoJob('a'.repeat(32));
    const message = (receiptHandle: string, receiveCount: number): ReceivedMessage<SegmentJob> => ({ messageId: 'm-1', receiptHandle, body: job, receiveCount });
    let receives = 0;
    const deleted: string[] = [];
    const jobs: MessageQueue<SegmentJob> = {
      sendBatch: async () => ({ failed: [] }),
      async receive() {
        receives++;
        if (receives === 1) return [message('handle-1', 1)];
        if (receives === 2) return [message('handle-2', 2)]; // visibility lapsed: out again
        await new Promise((r) => setTimeout(r, 5));
        return [];
      },
      delete: async (h) => void deleted.push(h),
      extendVisibility: async () => undefined,
      release: async () => undefined,
    };
    const { events, published } = recordingEventQueue();
    const model = gatedSession();
    const worker = new SegmentWorker(
      jobs,
      { store, events, segmenter: segmenterOnSession(model.session, CARD, { maxBatch: 4 }), clock: systemClock, bucket: 'bucket', maxBytes: 1e7, maxPixels: 1e7 },
      { maxInFlight: 4, waitSeconds: 0, visibilitySeconds: 30, maxReceiveCount: 5 },
      createLogger('test', { silent: true }),
    );

    // Act: the redelivery arrives while the first copy waits on the model.
    const running = worker.run();
    while (receives < 3 || model.runs.length === 0) await new Promise((r) => setTimeout(r, 5));
    model.open();
    while (deleted.length === 0) await new Promise((r) => setTimeout(r, 5));
    worker.stop();
    await running;

    // Assert: processed once, published once, deleted once with the handle SQS honours.
    expect(model.runs).toEqual([1]);
    expect(published).toHaveLength(1);
    expect(deleted).toEqual(['handle-2']);
    expect(worker.stats).toMatchObject({ received: 2, succeeded: 1, retried: 0, duplicates: 0 });
  });

  it('records an internal error (a bug) as a failed result on the first attempt instead of retrying it', async () => {
    // Arrange: a photo, and a model session with a bug
    const { store, job } = await storedPhotoJob('b'.repeat(32));
    const { jobs, deleted } = oneMessageQueue(job);
    const released: string[] = [];
    jobs.release = async (h) => void released.push(h);
    const { events, published } = recordingEventQueue();
    const broken: ModelSession = {
      provider: 'cpu',
      threadIds: [],
      run: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'dims')");
      },
      release: async () => undefined,
    };
    const worker = new SegmentWorker(
      jobs,
      { store, events, segmenter: segmenterOnSession(broken, CARD, { maxBatch: 4 }), clock: systemClock, bucket: 'bucket', maxBytes: 1e7, maxPixels: 1e7 },
      { maxInFlight: 4, waitSeconds: 0, visibilitySeconds: 30, maxReceiveCount: 5 },
      createLogger('test', { silent: true }),
    );

    // Act
    const running = worker.run();
    while (deleted.length + released.length === 0) await new Promise((r) => setTimeout(r, 5));
    worker.stop();
    await running;

    // Assert: failed once, for the user to hear about; not back on the queue.
    expect(released).toEqual([]);
    expect(deleted).toEqual(['handle-1']);
    expect(published.map((m) => [m.body.type, m.body.result.error])).toEqual([
      ['job.failed', { code: 'INTERNAL_ERROR', message: "Expected no internal error but one was thrown: TypeError: Cannot read properties of undefined (reading 'dims')" }],
    ]);
    expect(worker.stats).toMatchObject({ received: 1, failed: 1, retried: 0 });
  });

  it('warns when a running job\'s visibility cannot be extended, but not for the handle of a job that has just finished', async () => {
    // Arrange: one job held by the model, and a queue whose visibility calls fail; the first fails
    // while the job still runs, the second only once the job's message has been deleted (SQS's
    // "Message does not exist" for a handle whose job just finished).
    const { store, job } = await storedPhotoJob('c'.repeat(32));
    const { jobs, deleted } = oneMessageQueue(job);
    const model = gatedSession();
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((r) => setTimeout(r, 5));
    };
    let extends_ = 0;
    jobs.extendVisibility = async () => {
      if (++extends_ === 1) throw new Error('Throttled');
      model.open();
      await until(() => deleted.length > 0);
      throw new Error('Message does not exist or is not available for visibility timeout change');
    };
    const { events } = recordingEventQueue();
    const logger = createLogger('test', { silent: true });
    const warn = vi.spyOn(logger, 'warn');
    const worker = new SegmentWorker(
      jobs,
      { store, events, segmenter: segmenterOnSession(model.session, CARD, { maxBatch: 4 }), clock: systemClock, bucket: 'bucket', maxBytes: 1e7, maxPixels: 1e7 },
      { maxInFlight: 4, waitSeconds: 0, visibilitySeconds: 3, maxReceiveCount: 5 },
      logger,
    );

    // Act: two visibility ticks (one a second), the job finishing during the second.
    const running = worker.run();
    await until(() => extends_ >= 2 && deleted.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    worker.stop();
    await running;

    // Assert: one warning, for the job that was still running.
    const visibilityWarnings = warn.mock.calls.filter(([message]) => message === 'visibility extension failed');
    expect(visibilityWarnings).toEqual([['visibility extension failed', { stage: 'visibility', error: 'Throttled' }]]);
    expect(deleted).toEqual(['handle-1']);
    expect(worker.stats).toMatchObject({ received: 1, succeeded: 1 });
  });
});
