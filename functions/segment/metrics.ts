/** CloudWatch Embedded Metric Format on stdout: the awslogs driver turns these lines into metrics. */
import type { JobMetrics } from './worker.ts';

export const METRICS_NAMESPACE = 'Greenscreen';

export class EmfMetrics implements JobMetrics {
  constructor(
    private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
    private readonly namespace = METRICS_NAMESPACE,
  ) {}

  record(outcome: 'succeeded' | 'failed', latencyMs: number): void {
    this.write(
      JSON.stringify({
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [
            {
              Namespace: this.namespace,
              Dimensions: [['Service']],
              Metrics: [
                { Name: 'JobsSucceeded', Unit: 'Count' },
                { Name: 'JobsFailed', Unit: 'Count' },
                { Name: 'JobLatency', Unit: 'Milliseconds' },
              ],
            },
          ],
        },
        Service: 'segment',
        JobsSucceeded: outcome === 'succeeded' ? 1 : 0,
        JobsFailed: outcome === 'failed' ? 1 : 0,
        JobLatency: latencyMs,
      }),
    );
  }
}
