/** Messages and records that cross process boundaries: their one home is `messages.ts` (zod schemas). */
export type {
  JobEvent,
  JobEventType,
  JobFailure,
  JobOutputs,
  JobResult,
  JobStatus,
  ObjectRef,
  OutputUrls,
  SegmentJob,
  WebhookData,
} from './messages.ts';
