/**
 * The photos: taken in (pick, drop, paste), cut out here with the shipped model (segmenter.ts),
 * listed, and the selected one shown as its cut-out and mask; each one also sent to the pipeline
 * when asked.
 */
import type { PipelineApi } from './api-client.ts';
import { $, fmtMs, showError } from './dom.ts';
import { decodePhoto, drawCutout, drawMask, PhotoError, type DecodedPhoto, type Limits } from './pixels.ts';
import type { PageSegmenter, Segmentation } from './segmenter.ts';

export interface Photo {
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
  /** The finished mask at the photo's size (the worker's subject rule, upsampling and haze curve). */
  full?: Uint8Array;
  /** decode + segment + draw, in the page. */
  totalMs?: number;
  decodeMs?: number;
  error?: { code: string; message: string };
  item: HTMLLIElement;
}

export interface PhotosOptions {
  segmenter: Promise<PageSegmenter>;
  api: PipelineApi;
  /** The list the page's hook exposes: every photo is pushed here. */
  list: Photo[];
  /** The pipeline's limits once known (the page refuses what the pipeline would). */
  limits(): Limits;
  /** Why the model is not loaded, when it failed to load. */
  modelError(): string | undefined;
  /** The selected photo changed or its state did: the pipeline panel follows it. */
  onSelect(): void;
}

export interface Photos {
  selected(): Photo | undefined;
  /** Cut these out, one after another; `send` also uploads each to the pipeline. */
  accept(files: Iterable<File>, send: boolean): void;
}

export function createPhotos(o: PhotosOptions): Photos {
  let selected: Photo | undefined;
  let nextId = 1;
  let chain = Promise.resolve();

  function renderItem(photo: Photo): void {
    const button = photo.item.querySelector('button')!;
    const state =
      photo.status === 'working' ? 'working…' : photo.status === 'failed' ? `${photo.error!.code}` : `cut out in ${fmtMs(photo.totalMs!)}`;
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
    $('result-name').textContent = `— ${photo.name}`;
    if (!photo.result || !photo.decoded || !photo.full) {
      section.hidden = !photo.key;
      $('timing').textContent = photo.status === 'working' ? 'Working…' : 'Not cut out in the page.';
      for (const id of ['cutout', 'mask']) {
        const c = $<HTMLCanvasElement>(id);
        c.width = c.height = 0;
      }
      o.onSelect();
      return;
    }
    section.hidden = false;
    const r = photo.result;
    $('timing').textContent =
      `${photo.decoded.width}×${photo.decoded.height}, model input ${r.plan.width}×${r.plan.height}: ` +
      `${fmtMs(photo.totalMs!)} in this page (decode ${fmtMs(photo.decodeMs!)}, model ${fmtMs(r.modelMs)}, pre/post ${fmtMs(photo.totalMs! - photo.decodeMs! - r.modelMs)})` +
      (photo.subject === 'none' ? '. Nobody found in this photo: the mask is empty, as the pipeline’s would be.' : '');
    drawCutout($<HTMLCanvasElement>('cutout'), photo.decoded, photo.full);
    drawMask($<HTMLCanvasElement>('mask'), photo.full, photo.decoded.width, photo.decoded.height);
    o.onSelect();
  }

  async function process(file: File, send: boolean): Promise<void> {
    const item = document.createElement('li');
    item.append(document.createElement('button'));
    const photo: Photo = { id: nextId++, name: file.name || 'pasted image', status: 'working', item };
    item.querySelector('button')!.type = 'button';
    item.querySelector('button')!.addEventListener('click', () => select(photo));
    o.list.push(photo);
    $('photos').append(item);
    renderItem(photo);
    if (!selected || selected.status !== 'working') select(photo);

    const upload = send
      ? o.api.upload(file).then(
          ({ key }) => {
            photo.key = key;
            if (selected === photo) o.onSelect();
          },
          (err: Error) => {
            photo.uploadError = `${photo.name} was not sent to the pipeline: ${err.message}`;
          },
        )
      : Promise.resolve();

    try {
      const t0 = performance.now();
      const { pixels, ...drawable } = await decodePhoto(file, o.limits());
      photo.decoded = drawable;
      photo.decodeMs = performance.now() - t0;
      const s = await o.segmenter;
      photo.result = await s.segment(pixels);
      photo.subject = photo.result.subject;
      photo.full = photo.result.mask;
      photo.status = 'done';
      photo.totalMs = performance.now() - t0;
    } catch (err) {
      photo.status = 'failed';
      const modelError = o.modelError();
      photo.error =
        err instanceof PhotoError
          ? { code: err.code, message: err.message }
          : { code: 'MODEL_FAILED', message: modelError !== undefined ? `the model is not loaded (${modelError})` : (err as Error).message };
    }
    renderItem(photo);
    if (selected === photo || selected?.status !== 'working') select(photo);
    await upload; // the next photo waits for this one's upload (one at a time to the local stack)
    if (selected === photo) select(photo); // now with its key, or the upload's error
  }

  const photos: Photos = {
    selected: () => selected,
    accept(files, send) {
      for (const file of files) chain = chain.then(() => process(file, send));
    },
  };

  // ---- input: pick, drop, paste -----------------------------------------------------------------
  const sendChosen = () => !$('pipeline-option').hidden && $<HTMLInputElement>('send').checked;
  const fileInput = $<HTMLInputElement>('file');
  fileInput.addEventListener('change', () => {
    photos.accept([...(fileInput.files ?? [])], sendChosen());
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
    photos.accept([...(e.dataTransfer?.files ?? [])], sendChosen());
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length) photos.accept(files, sendChosen());
  });
  return photos;
}
