/**
 * The download buttons (download-list.ts: one per output format) in the page, and what a click
 * does: the canvas writes what the browser can; any other format (AVIF) goes through the dev
 * server's encoder (the pipeline's), so the static page, which has none, offers it disabled with a
 * sentence saying why.
 */
import { FORMAT_FILES } from '#core/output-formats';
import type { PipelineApi } from './api-client.ts';
import { $, showError } from './dom.ts';
import { canvasType, DOWNLOADS, type Download } from './download-list.ts';
import { composite, toBlob, type Background } from './pixels.ts';

function stem(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(0, dot) : name).replace(/[^\w.-]+/g, '_');
}

export interface DownloadsOptions {
  api: PipelineApi;
  /** The selected photo's name, when it has a cut-out in the page. */
  selectedName(): string | undefined;
  background(): Background;
}

export interface Downloads {
  /** No dev server here (the static page): formats the canvas cannot write are offered disabled. */
  noEncoder(): void;
}

/** Puts the buttons into the page (`.downloads`) and handles their clicks. */
export function createDownloads(o: DownloadsOptions): Downloads {
  const bar = document.querySelector('.downloads')!;
  for (const d of DOWNLOADS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.id = d.id;
    button.textContent = d.text;
    button.addEventListener('click', () => void save(d));
    bar.append(button);
  }

  async function save(d: Download): Promise<void> {
    const name = o.selectedName();
    if (name === undefined) return;
    const { contentType } = FORMAT_FILES[d.format];
    const type = canvasType(d.format);
    const canvas = d.source === 'mask' ? $<HTMLCanvasElement>('mask') : d.source === 'composite' ? composite($<HTMLCanvasElement>('cutout'), o.background()) : $<HTMLCanvasElement>('cutout');
    let blob: Blob;
    try {
      blob = type ? await toBlob(canvas, type, type === 'image/jpeg' ? 0.9 : 0.92) : await o.api.encode(await toBlob(canvas, 'image/png'), d.format);
    } catch (err) {
      return showError(`${d.name} was not written: ${(err as Error).message}`);
    }
    if (blob.type !== contentType) return showError(`Expected this browser to write ${contentType} but it wrote ${blob.type}`);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${stem(name)}-${d.name}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  return {
    noEncoder() {
      for (const d of DOWNLOADS.filter((x) => !canvasType(x.format))) {
        const button = $<HTMLButtonElement>(d.id);
        button.disabled = true;
        button.title = `Browsers cannot write ${FORMAT_FILES[d.format].label}; the page served by \`npx greenscreen dev\` can (through the pipeline’s encoder)`;
      }
    },
  };
}
