/**
 * The page: photos in (pick, drop, paste), cut out here with the shipped model, shown over a
 * background with the mask beside them, downloadable; and, when served by `greenscreen dev`, the
 * same photos through the pipeline: its jobs as they move and its webhook deliveries. This file
 * only wires the parts: photos.ts, background.ts, downloads.ts, pipeline-panel.ts.
 */
import type { DeliveryList, JobList } from '#web/api';
import { PipelineApi } from './api-client.ts';
import { createBackgroundPicker } from './background.ts';
import { $, showError } from './dom.ts';
import { createDownloads } from './downloads.ts';
import { createPhotos, type Photo } from './photos.ts';
import { createPipelinePanel } from './pipeline-panel.ts';
import { DEFAULT_LIMITS, type Limits } from './pixels.ts';
import { loadSegmenter, type PageSegmenter } from './segmenter.ts';

/** What the page exposes for its browser test and benchmark (read-only use). */
interface PageHook {
  state: 'loading' | 'ready' | 'error';
  error?: string;
  backend?: string;
  threads?: number;
  /** Navigation start -> model ready, ms. */
  readyMs?: number;
  photos: Photo[];
  pipeline: boolean;
  jobs?: JobList;
  webhooks?: DeliveryList;
}

const base = new URL('.', document.baseURI);
const api = new PipelineApi(base);
const hook: PageHook = { state: 'loading', photos: [], pipeline: false };
(window as unknown as { greenscreen: PageHook }).greenscreen = hook;
let limits: Limits = DEFAULT_LIMITS;

const prefer = new URLSearchParams(location.search).get('backend') === 'wasm' ? 'wasm' : undefined;
const segmenter: Promise<PageSegmenter> = loadSegmenter(base, prefer ? { prefer } : {});
segmenter.then(
  (s) => {
    hook.state = 'ready';
    hook.backend = s.backend;
    hook.threads = s.threads;
    hook.readyMs = Math.round(performance.now());
    $('model-status').textContent =
      `Model ${s.card.name}@${s.card.version} ready in ${hook.readyMs} ms · ` +
      (s.backend === 'webgpu' ? 'WebGPU' : `WASM, ${s.threads} thread${s.threads === 1 ? '' : 's'}`);
    document.body.dataset.state = 'ready';
  },
  (err: Error) => {
    hook.state = 'error';
    hook.error = err.message;
    $('model-status').textContent = 'The model failed to load.';
    showError(`The model failed to load: ${err.message}`);
    document.body.dataset.state = 'error';
  },
);

const panel = createPipelinePanel({
  api,
  selectedKey: () => photos.selected()?.key,
  onPoll: (jobs, webhooks) => {
    hook.jobs = jobs;
    hook.webhooks = webhooks;
  },
});
const photos = createPhotos({
  segmenter,
  api,
  list: hook.photos,
  limits: () => limits,
  modelError: () => (hook.state === 'error' ? hook.error : undefined),
  onSelect: () => panel.renderServer(),
});
const background = createBackgroundPicker();
const downloads = createDownloads({
  api,
  selectedName: () => {
    const p = photos.selected();
    return p?.result ? p.name : undefined;
  },
  background: () => background.current(),
});

void api.info().then((info) => {
  if (!info) {
    $('no-pipeline').hidden = false;
    downloads.noEncoder();
    return;
  }
  hook.pipeline = true;
  limits = { maxBytes: info.maxUploadBytes, maxPixels: info.maxInputPixels };
  $('pipeline-option').hidden = false;
  $('pipeline').hidden = false;
  panel.start();
});
