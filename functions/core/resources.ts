/**
 * Names and settings of the buckets and queues, shared by `infra/` (CDK) and local mode so both
 * create the same resources. Plain data: no aws-cdk-lib here.
 */
export const INPUT_PREFIX = 'incoming/';
export const RESULTS_PREFIX = 'results/';
/** Batch Operations manifests written by `greenscreen reprocess --aws`. */
export const MANIFESTS_PREFIX = 'manifests/';
/** Batch Operations completion reports. */
export const REPORTS_PREFIX = 'reports/';
/** Background images that output options may name (`background: image:backgrounds/…`); the worker may read only these besides uploads. */
export const BACKGROUNDS_PREFIX = 'backgrounds/';
/** What the pipeline itself writes or reads as assets: never a photo to (re-)process, whatever prefix is asked for. */
export const RESERVED_PREFIXES = [RESULTS_PREFIX, MANIFESTS_PREFIX, REPORTS_PREFIX, BACKGROUNDS_PREFIX] as const;

/** Where `greenscreen dev` serves S3 + SQS unless told otherwise: the other commands' default --endpoint. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';

export function isReservedKey(key: string): boolean {
  return RESERVED_PREFIXES.some((p) => key.startsWith(p));
}

export const RESOURCE_DEFAULTS = {
  bucketName: 'greenscreen-uploads',
  jobsQueue: {
    name: 'greenscreen-jobs.fifo',
    dlqName: 'greenscreen-jobs-dlq.fifo',
    fifo: true,
    /** Longer than one batch of work (download + infer + encode + upload), extended while working. */
    visibilityTimeoutSeconds: 120,
    /** A photo that fails 5 times is not going to succeed on the 6th: park it in the DLQ. */
    maxReceiveCount: 5,
  },
  eventsQueue: {
    name: 'greenscreen-events',
    dlqName: 'greenscreen-events-dlq',
    fifo: false,
    /** notify's Lambda timeout (10 s per webhook x batch) with margin. */
    visibilityTimeoutSeconds: 90,
    /**
     * Webhooks get more tries: receivers go down for minutes or hours. notify's full-jitter backoff
     * (2 s doubling, capped at 15 min) over 15 receives spans up to ~1.5 h (~45 min expected)
     * before the DLQ; 8 receives spanned only ~4 min.
     */
    maxReceiveCount: 15,
  },
  dlqRetentionDays: 14,
} as const;
