/**
 * The pipeline panel, when `greenscreen dev` serves the page: its jobs as they move, its webhook
 * deliveries, and the pipeline's own result for the selected photo beside the page's.
 */
import type { DeliveryList, DeliveryRow, JobList, JobRow } from '#web/api';
import type { PipelineApi } from './api-client.ts';
import { $ } from './dom.ts';

export interface PipelinePanelOptions {
  api: PipelineApi;
  /** The source key of the selected photo, when it was sent to the pipeline. */
  selectedKey(): string | undefined;
  /** Each poll's answers (the page's hook shows them). */
  onPoll(jobs: JobList, webhooks: DeliveryList): void;
}

export interface PipelinePanel {
  /** Show the pipeline's result for the selected photo (call when the selection changes). */
  renderServer(): void;
  /** Poll the job list and the deliveries once a second, from now on. */
  start(): void;
}

function cell(row: HTMLTableRowElement, text: string, className?: string): HTMLTableCellElement {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function link(td: HTMLElement, href: string, text: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  a.target = '_blank';
  td.append(a, ' ');
}

function renderJobs(list: JobList): void {
  const { counts } = list;
  $('jobs-summary').textContent =
    `${list.jobs.length} source photo${list.jobs.length === 1 ? '' : 's'}: ${counts.queued} queued, ${counts.running} running, ` +
    `${counts.succeeded} succeeded, ${counts.failed} failed`;
  const rows = list.jobs.slice(0, 300).map((j: JobRow) => {
    const tr = document.createElement('tr');
    tr.dataset.key = j.key;
    tr.dataset.status = j.status;
    cell(tr, j.key);
    cell(tr, j.status, `status-${j.status}`);
    cell(
      tr,
      j.error
        ? `${j.error.code}: ${j.error.message}`
        : j.status === 'succeeded'
          ? `${j.width}×${j.height}${j.totalMs !== undefined ? `, ${j.totalMs} ms in the worker` : ''}`
          : '',
      j.error ? 'bad' : undefined,
    );
    const out = tr.insertCell();
    if (j.mask) link(out, j.mask, 'mask');
    if (j.cutout) link(out, j.cutout, 'cut-out');
    return tr;
  });
  $('jobs').replaceChildren(...rows);
}

function renderWebhooks(list: DeliveryList): void {
  $('webhooks-summary').textContent =
    `${list.accepted} accepted (signature verified), ${list.rejected} refused (signature did not verify), ${list.duplicates} duplicate redeliveries`;
  const rows = [...list.deliveries].reverse().slice(0, 300).map((d: DeliveryRow) => {
    const tr = document.createElement('tr');
    tr.dataset.key = d.key ?? '';
    cell(tr, new Date(d.at).toLocaleTimeString());
    cell(tr, `${d.type ?? '?'}${d.errorCode ? ` (${d.errorCode})` : ''}`);
    cell(tr, d.key ?? '');
    cell(tr, d.verified ? 'verified' : 'did not verify', d.verified ? 'good' : 'bad');
    cell(tr, `${d.httpStatus}${d.duplicate ? ' (duplicate)' : ''}`);
    cell(tr, d.webhookId ?? '');
    return tr;
  });
  $('webhooks').replaceChildren(...rows);
}

export function createPipelinePanel(o: PipelinePanelOptions): PipelinePanel {
  let lastJobs: JobList | undefined;
  let lastJobsJson = '';
  let lastHooksJson = '';

  function renderServer(): void {
    const panel = $('server');
    const key = o.selectedKey();
    const job = key ? lastJobs?.jobs.find((j) => j.key === key) : undefined;
    panel.hidden = !key;
    if (!key) return;
    $('server-status').textContent = job
      ? `${key}: ${job.status}${job.error ? ` — ${job.error.code}: ${job.error.message}` : ''}`
      : `${key}: uploaded, waiting for the pipeline`;
    panel.dataset.status = job?.status ?? 'uploaded';
    const mask = $<HTMLImageElement>('server-mask');
    const cutout = $<HTMLImageElement>('server-cutout');
    if (job?.mask && mask.getAttribute('src') !== job.mask) mask.src = job.mask;
    if (job?.cutout && cutout.getAttribute('src') !== job.cutout) cutout.src = job.cutout;
    if (!job?.mask) mask.removeAttribute('src');
    if (!job?.cutout) cutout.removeAttribute('src');
    $('server-images').hidden = !job?.mask;
  }

  async function poll(): Promise<void> {
    try {
      const [jobs, webhooks] = await Promise.all([o.api.jobs(), o.api.webhooks()]);
      o.onPoll(jobs, webhooks);
      lastJobs = jobs;
      const j = JSON.stringify(jobs);
      if (j !== lastJobsJson) {
        lastJobsJson = j;
        renderJobs(jobs);
        renderServer();
      }
      const w = JSON.stringify(webhooks);
      if (w !== lastHooksJson) {
        lastHooksJson = w;
        renderWebhooks(webhooks);
      }
    } catch (err) {
      $('jobs-summary').textContent = `The pipeline did not answer: ${(err as Error).message}`;
    }
    setTimeout(() => void poll(), 1000);
  }

  return { renderServer, start: () => void poll() };
}
