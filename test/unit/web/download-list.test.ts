import { describe, expect, it } from 'vitest';
import { FORMAT_FILES, OUTPUT_FORMATS } from '#core/output-formats';
import { DOWNLOADS } from '#web/page/download-list';

describe("the page's download buttons (derived from #core/output-formats)", () => {
  it('offers every output format, the mask as PNG, in the order the keyboard reaches them', () => {
    expect(DOWNLOADS.map((d) => [d.id, d.name, d.text])).toEqual([
      ['dl-png', 'cutout.png', 'Download cut-out (PNG)'],
      ['dl-webp', 'cutout.webp', 'Download cut-out (WebP)'],
      ['dl-avif', 'cutout.avif', 'Download cut-out (AVIF)'],
      ['dl-composite', 'composite.png', 'Download with background (PNG)'],
      ['dl-composite-jpeg', 'composite.jpg', 'Download with background (JPEG)'],
      ['dl-mask', 'mask.png', 'Download mask (PNG)'],
    ]);
  });

  it.each(OUTPUT_FORMATS)('has a button for %s: a cut-out when it has alpha, else only with the background', (format) => {
    const kinds = DOWNLOADS.filter((d) => d.format === format && d.source !== 'mask').map((d) => d.source);
    expect(kinds).toContain(FORMAT_FILES[format].alpha ? 'cutout' : 'composite');
    if (!FORMAT_FILES[format].alpha) expect(kinds).not.toContain('cutout');
  });
});
