/**
 * The start-up safety net of a persistent local stack: every upload under the input prefix either
 * has a result made by this model from this very version of the photo, or a job waiting in the
 * jobs queue, or it is handed to ingest again. The same stale check as `greenscreen reprocess`
 * (the worker's index markers, result.json's metadata where a marker cannot tell).
 */
import { listPages } from '#core/listing';
import type { ObjectStore } from '#core/ports';
import { createStaleChecker } from '#reprocess/stale-check';

export interface QueuedJob {
  key: string;
  etag: string;
}

export interface ReconcileOptions {
  store: ObjectStore;
  bucket: string;
  prefix: string;
  modelVersion: string;
  /** Jobs already waiting in the (persisted) jobs queue: not handed to ingest a second time. */
  queued: readonly QueuedJob[];
  /** Called for each upload that needs nothing (up to date, or already queued). */
  settled(key: string, etag: string): void;
}

export interface ReconcileSummary {
  /** Uploads under the input prefix. */
  inputs: number;
  /** With a result for this model and this version of the photo. */
  upToDate: number;
  /** Waiting in the jobs queue. */
  queued: number;
  /** Neither: handed to ingest again (jobs lost before they were queued, e.g. by a kill -9). */
  resubmitted: number;
  /** Jobs queue and events queue messages the previous process had in flight, made ready again. */
  released?: number;
}

export async function reconcileInputs(options: ReconcileOptions): Promise<ReconcileSummary> {
  const { store, bucket, prefix, modelVersion } = options;
  const queued = new Set(options.queued.map((q) => `${q.etag}\u0000${q.key}`));
  const checker = createStaleChecker('index', { store, bucket, prefix, modelVersion, headConcurrency: 8 });
  const summary: ReconcileSummary = { inputs: 0, upToDate: 0, queued: 0, resubmitted: 0 };
  for await (const page of listPages(store, bucket, prefix)) {
    const verdicts = await checker.upToDate(page.objects);
    page.objects.forEach((o, i) => {
      summary.inputs++;
      if (verdicts[i]) {
        summary.upToDate++;
        options.settled(o.key, o.etag);
      } else if (queued.has(`${o.etag}\u0000${o.key}`)) {
        summary.queued++;
        options.settled(o.key, o.etag);
      } else {
        summary.resubmitted++;
      }
    });
  }
  return summary;
}
