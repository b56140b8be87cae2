/**
 * The page: photos in (pick, drop, paste), cut out here with the shipped model, shown over a
 * background with the mask beside them, downloadable; and, when served by `greenscreen dev`, the
 * same photos through the pipeline: its jobs as they move and its webhook deliveries.
 */
import type { DeliveryList, DeliveryRow, JobList, JobRow } from '../api.ts';
import { PipelineApi } from './api-client.ts';
import { composite, decodePhoto, DEFAULT_LIMITS, drawCutout, drawMask, PhotoError, toBlob, type Background, type DecodedPhoto, type Limits } from './pixels.ts';
import { loadSegmenter, type PageSegmenter, type Segmentation } from './segmenter.ts';

interface Photo {
  id: number;
  name: string;
  status: 'working' | 'done' | 'failed';
  /** The pipeline's source key when it was sent there. */
  key?: string;
  uploadError?: string;
  /** The photo for drawing (its full-size pixels are dropped once the model has seen them). */
  decoded?: Pick<DecodedPhoto, 'bitmap' | 'width' | 'height'>;
  result?: Segmentation;
  /** Is anybody there (the worker's rule, #segmenter/subject)? 'none' = an empty mask. */
  subject?: 'person' | 'none';
  /** The finished mask at the photo's size (the worker's upsampling and haze curve). */
  full?: Uint8Array;
  /** decode + segment + draw, in the page. */
  totalMs?: number;
  decodeMs?: number;
  error?: { code: string; message: string };
  item: HTMLLIElement;
}

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

const $ = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`Expected #${id} in the page`);
  return el as T;
};

const base = new URL('.', document.baseURI);
const api = new PipelineApi(base);
const hook: PageHook = { state: 'loading', photos: [], pipeline: false };
(window as unknown as { greenscreen: PageHook }).greenscreen = hook;

let limits: Limits = DEFAULT_LIMITS;
let selected: Photo | undefined;
let background: Background = { kind: 'checker' };
let nextId = 1;
let lastJobs: JobList | undefined;

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

function showError(message: string | undefined): void {
  const el = $('error');
  el.hidden = !message;
  el.textContent = message ?? '';
}

const fmtMs = (ms: number) => `${Math.round(ms)} ms`;

function renderItem(photo: Photo): void {
  const button = photo.item.querySelector('button')!;
  const state =
    photo.status === 'working'
      ? 'working…'
      : photo.status === 'failed'
        ? `${photo.error!.code}`
        : `cut out in ${fmtMs(photo.totalMs!)}`;
  button.textContent = `${photo.name} — ${state}`;
  button.className = photo.status === 'failed' ? 'failed' : '';
  button.setAttribute('aria-pressed', String(photo === selected));
  photo.item.dataset.status = photo.status;
}

function select(photo: Photo): void {
  const previous = selected;
  selected = photo;
  if (previous) renderItem(previous);
  renderItem(photo);
  showError(photo.error ? `${photo.name}: ${photo.error.message}` : photo.uploadError);
  const section = $('result');
  $('local-result').hidden = !photo.result;
  if (!photo.result || !photo.decoded || !photo.full) {
    section.hidden = !photo.key;
    $('result-name').textContent = `— ${photo.name}`;
    $('timing').textContent = photo.status === 'working' ? 'Working…' : 'Not cut out in the page.';
    for (const id of ['cutout', 'mask']) {
      const c = $<HTMLCanvasElement>(id);
      c.width = c.height = 0;
    }
    renderServer();
    return;
  }
  section.hidden = false;
  $('result-name').textContent = `— ${photo.name}`;
  const r = photo.result;
  $('timing').textContent =
    `${photo.decoded.width}×${photo.decoded.height}, model input ${r.plan.width}×${r.plan.height}: ` +
    `${fmtMs(photo.totalMs!)} in this page (decode ${fmtMs(photo.decodeMs!)}, model ${fmtMs(r.modelMs)}, pre/post ${fmtMs(photo.totalMs! - photo.decodeMs! - r.modelMs)})` +
    (photo.subject === 'none' ? '. Nobody found in this photo: the mask is empty, as the pipeline’s would be.' : '');
  drawCutout($<HTMLCanvasElement>('cutout'), photo.decoded, photo.full);
  drawMask($<HTMLCanvasElement>('mask'), photo.full, photo.decoded.width, photo.decoded.height);
  renderServer();
}

async function process(file: File, send: boolean): Promise<void> {
  const item = document.createElement('li');
  item.append(document.createElement('button'));
  const photo: Photo = { id: nextId++, name: file.name || 'pasted image', status: 'working', item };
  item.querySelector('button')!.type = 'button';
  item.querySelector('button')!.addEventListener('click', () => select(photo));
  hook.photos.push(photo);
  $('photos').append(item);
  renderItem(photo);
  if (!selected || selected.status !== 'working') select(photo);

  const upload = send
    ? api.upload(file).then(
        ({ key }) => {
          photo.key = key;
          if (selected === photo) renderServer();
        },
        (err: Error) => {
          photo.uploadError = `${photo.name} was not sent to the pipeline: ${err.message}`;
        },
      )
    : Promise.resolve();

  try {
    const t0 = performance.now();
    const { pixels, ...drawable } = await decodePhoto(file, limits);
    photo.decoded = drawable;
    photo.decodeMs = performance.now() - t0;
    const s = await segmenter;
    photo.result = await s.segment(pixels);
    photo.subject = photo.result.subject;
    photo.full = photo.result.mask;
    photo.status = 'done';
    photo.totalMs = performance.now() - t0;
  } catch (err) {
    photo.status = 'failed';
    photo.error =
      err instanceof PhotoError
        ? { code: err.code, message: err.message }
        : { code: 'MODEL_FAILED', message: hook.state === 'error' ? `the model is not loaded (${hook.error})` : (err as Error).message };
  }
  renderItem(photo);
  if (selected === photo || selected?.status !== 'working') select(photo);
  await upload; // the next photo waits for this one's upload (one at a time to the local stack)
  if (selected === photo) select(photo); // now with its key, or the upload's error
}

let chain = Promise.resolve();
function accept(files: Iterable<File>): void {
  const send = !$('pipeline-option').hidden && $<HTMLInputElement>('send').checked;
  for (const file of files) chain = chain.then(() => process(file, send));
}

// ---- input: pick, drop, paste -------------------------------------------------------------------

const fileInput = $<HTMLInputElement>('file');
fileInput.addEventListener('change', () => {
  accept([...(fileInput.files ?? [])]);
  fileInput.value = '';
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  accept([...(e.dataTransfer?.files ?? [])]);
});
document.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.files ?? [])];
  if (files.length) accept(files);
});

// ---- background and downloads -------------------------------------------------------------------

const stage = $('stage');
function applyBackground(): void {
  stage.classList.toggle('checker', background.kind === 'checker');
  stage.style.backgroundColor = background.kind === 'colour' ? background.colour : '';
  stage.style.backgroundImage = background.kind === 'image' && bgUrl ? `url("${bgUrl}")` : '';
}
let bgUrl: string | undefined;
let bgImage: ImageBitmap | undefined;
document.querySelectorAll<HTMLInputElement>('input[name="bg"]').forEach((radio) =>
  radio.addEventListener('change', () => {
    if (radio.value === 'colour') background = { kind: 'colour', colour: $<HTMLInputElement>('colour').value };
    else if (radio.value === 'checker') background = { kind: 'checker' };
    else if (!bgImage) return $<HTMLInputElement>('bg-file').click(); // nothing picked yet: pick one
    else background = { kind: 'image', image: bgImage };
    applyBackground();
  }),
);
$<HTMLInputElement>('colour').addEventListener('input', (e) => {
  background = { kind: 'colour', colour: (e.target as HTMLInputElement).value };
  $<HTMLInputElement>('bg-colour').checked = true;
  applyBackground();
});
$<HTMLInputElement>('bg-file').addEventListener('change', async (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  try {
    bgImage = await createImageBitmap(file);
    background = { kind: 'image', image: bgImage };
    if (bgUrl) URL.revokeObjectURL(bgUrl);
    bgUrl = URL.createObjectURL(file);
    $<HTMLInputElement>('bg-image').checked = true;
    applyBackground();
  } catch {
    showError(`Expected a background image this browser can decode but ${file.name} is not one`);
  }
});

function stem(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name).replace(/[^\w.-]+/g, '_');
}

/**
 * Every format the pipeline writes: the cut-out as PNG, WebP or AVIF, the cut-out on its background
 * as PNG or JPEG (JPEG has no alpha: only with a background, as in the pipeline), the mask as PNG.
 * The canvas writes PNG, WebP and JPEG; AVIF goes through the dev server's encoder (the pipeline's),
 * so the static page, which has none, offers it disabled with a sentence saying why.
 */
const DOWNLOADS = {
  png: { source: 'cutout', type: 'image/png', name: 'cutout.png' },
  webp: { source: 'cutout', type: 'image/webp', name: 'cutout.webp' },
  avif: { source: 'cutout', type: 'image/avif', name: 'cutout.avif' },
  composite: { source: 'composite', type: 'image/png', name: 'composite.png' },
  'composite-jpeg': { source: 'composite', type: 'image/jpeg', name: 'composite.jpg' },
  mask: { source: 'mask', type: 'image/png', name: 'mask.png' },
} as const;
type Download = keyof typeof DOWNLOADS;

async function download(what: Download): Promise<void> {
  if (!selected?.result) return;
  const d = DOWNLOADS[what];
  const canvas =
    d.source === 'mask' ? $<HTMLCanvasElement>('mask') : d.source === 'composite' ? composite($<HTMLCanvasElement>('cutout'), background) : $<HTMLCanvasElement>('cutout');
  let blob: Blob;
  try {
    blob = d.type === 'image/avif' ? await api.encodeAvif(await toBlob(canvas, 'image/png')) : await toBlob(canvas, d.type, d.type === 'image/jpeg' ? 0.9 : 0.92);
  } catch (err) {
    return showError(`${DOWNLOADS[what].name} was not written: ${(err as Error).message}`);
  }
  if (blob.type !== d.type) return showError(`Expected this browser to write ${d.type} but it wrote ${blob.type}`);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${stem(selected.name)}-${d.name}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
for (const what of Object.keys(DOWNLOADS) as Download[]) $(`dl-${what}`).addEventListener('click', () => void download(what));

// ---- the pipeline -------------------------------------------------------------------------------

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
  const body = $('jobs');
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
  body.replaceChildren(...rows);
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

function renderServer(): void {
  const panel = $('server');
  const key = selected?.key;
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

let lastJobsJson = '';
let lastHooksJson = '';
async function poll(): Promise<void> {
  try {
    const [jobs, webhooks] = await Promise.all([api.jobs(), api.webhooks()]);
    hook.jobs = jobs;
    hook.webhooks = webhooks;
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

void api.info().then((info) => {
  if (!info) {
    $('no-pipeline').hidden = false;
    const avif = $<HTMLButtonElement>('dl-avif');
    avif.disabled = true;
    avif.title = 'Browsers cannot write AVIF; the page served by `npx greenscreen dev` can (through the pipeline’s encoder)';
    return;
  }
  hook.pipeline = true;
  limits = { maxBytes: info.maxUploadBytes, maxPixels: info.maxInputPixels };
  $('pipeline-option').hidden = false;
  $('pipeline').hidden = false;
  void poll();
});
