/** The real adapters against the embedded emulator: the counterparts of the in-memory fakes. */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, createSqsClient } from '#core/adapters/aws-clients';
import { S3ObjectStore } from '#core/adapters/s3-object-store';
import { SqsMessageQueue } from '#core/adapters/sqs-message-queue';
import { ImageTooLargeError, ObjectNotFoundError } from '#core/errors';
import { startEmulator, type Emulator } from '#local/emulator';
import { provisionResources, type ProvisionedResources } from '#local/provision';

let emulator: Emulator;
let res: ProvisionedResources;
let store: S3ObjectStore;
let sqs: SQSClient;

beforeAll(async () => {
  emulator = await startEmulator();
  const conn = { region: 'us-east-1', endpoint: emulator.endpoint };
  const s3 = createS3Client(conn);
  sqs = createSqsClient(conn);
  res = await provisionResources(s3, sqs);
  store = new S3ObjectStore(s3);
});
afterAll(() => emulator.stop());

describe('S3ObjectStore', () => {
  it('round-trips bytes, content type and metadata, with unquoted ETags', async () => {
    const { etag } = await store.put(res.bucket, 'incoming/a b+c%ü.jpg', Buffer.from('hello'), { contentType: 'image/jpeg', metadata: { 'job-id': 'j1' } });
    const got = await store.get(res.bucket, 'incoming/a b+c%ü.jpg');
    const head = await store.head(res.bucket, 'incoming/a b+c%ü.jpg');
    expect(got.body.toString()).toBe('hello');
    expect(got.etag).toBe(etag);
    expect(etag).toMatch(/^[0-9a-f]{32}$/);
    expect(head).toMatchObject({ size: 5, contentType: 'image/jpeg', metadata: { 'job-id': 'j1' } });
  });

  it('says undefined on HEAD of a missing object and ObjectNotFoundError on GET', async () => {
    expect(await store.head(res.bucket, 'nope')).toBeUndefined();
    await expect(store.get(res.bucket, 'nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('refuses to download more than maxBytes', async () => {
    await store.put(res.bucket, 'incoming/big.jpg', Buffer.alloc(2000), { contentType: 'image/jpeg' });
    await expect(store.get(res.bucket, 'incoming/big.jpg', { maxBytes: 1000 })).rejects.toThrow(
      new ImageTooLargeError('Expected an upload of at most 1000 bytes but received 2000 bytes'),
    );
  });

  it('lists with pagination tokens', async () => {
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.put(res.bucket, `list/${i}.jpg`, 'x', { contentType: 'image/jpeg' })));
    const page = await store.list(res.bucket, 'list/');
    expect(page.objects.map((o) => o.key)).toEqual(['list/0.jpg', 'list/1.jpg', 'list/2.jpg', 'list/3.jpg', 'list/4.jpg']);
  });

  it('presigns GET URLs that work', async () => {
    await store.put(res.bucket, 'results/x/mask.png', 'png!', { contentType: 'image/png' });
    const url = await store.presignGet(res.bucket, 'results/x/mask.png', 60);
    expect(url).toContain('X-Amz-Signature=');
    expect(await (await fetch(url)).text()).toBe('png!');
  });
});

describe('SqsMessageQueue', () => {
  it('sends 25 messages in batches of 10, FIFO de-duplicates, receives, extends and deletes', async () => {
    const q = new SqsMessageQueue<{ n: number }>(sqs, res.jobsQueueUrl);
    const msgs = Array.from({ length: 25 }, (_, n) => ({ id: `m${n}`, body: { n }, deduplicationId: `d${n % 20}` }));
    expect(await q.sendBatch(msgs)).toEqual({ failed: [] });
    const got: number[] = [];
    for (let i = 0; i < 5; i++) {
      const batch = await q.receive({ max: 10, waitSeconds: 0 });
      for (const m of batch) {
        got.push(m.body.n);
        await q.extendVisibility(m.receiptHandle, 30);
        await q.delete(m.receiptHandle);
      }
    }
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  it('retries only the entries SQS failed, and reports sender faults without retrying them', async () => {
    const calls: string[][] = [];
    let attempt = 0;
    const fake = {
      send: async (cmd: { input: { Entries: { Id: string; MessageBody: string }[] } }) => {
        attempt++;
        calls.push(cmd.input.Entries.map((e) => JSON.parse(e.MessageBody).n));
        if (attempt === 1) {
          return { Successful: [], Failed: [
            { Id: 'm1', Code: 'InternalError', SenderFault: false, Message: 'try again' },
            { Id: 'm2', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' },
          ] };
        }
        return { Successful: cmd.input.Entries.map((e) => ({ Id: e.Id })), Failed: [] };
      },
    } as unknown as SQSClient;
    const q = new SqsMessageQueue<{ n: string }>(fake, 'https://sqs.us-east-1.amazonaws.com/1/q', { sleep: async () => undefined });
    const out = await q.sendBatch([{ id: 'a', body: { n: 'a' } }, { id: 'b', body: { n: 'b' } }, { id: 'c', body: { n: 'c' } }]);
    expect(calls).toEqual([['a', 'b', 'c'], ['b']]);
    expect(out.failed).toEqual([{ id: 'c', reason: 'InvalidMessageContents: bad' }]);
  });
});
