/**
 * Training (models/datasets.py: Pillow decode + Image.BILINEAR resize) vs serving (sharp decode +
 * #segmenter/segmentation): from the same raw bytes to the model's probabilities. The fixture holds what
 * Pillow made of a synthetic photo (models/make_resize_fixture.py).
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { toTensor } from '#segmenter/segmentation';
import { decodeImage } from '#segment/image';
import { assembleBatch, createSegmenter, preprocess } from '#segment/inference';
import { cardPathFor, loadModelCard } from '#segment/model-card';

const FIXTURES = new URL('../../fixtures/resize/', import.meta.url);
const meta = JSON.parse(await readFile(new URL('meta.json', FIXTURES), 'utf8')) as {
  pillow: string;
  cases: { source: string; longSide: number; width: number; height: number; expected: string }[];
};
const loaded = await loadModelCard(cardPathFor('tiramisu'));
const atCardSize = meta.cases.filter((c) => c.longSide === loaded.card.input.longSide);

describe(`training (Pillow ${meta.pillow}) vs serving (sharp + #segmenter/segmentation) pre-processing`, () => {
  it('has fixtures at the shipped card\'s input size', () => {
    expect(atCardSize.map((c) => c.source)).toEqual(['photo.png', 'photo.jpg', 'small.png']);
  });

  it.each(atCardSize)('$source: same input tensor and same probabilities (max |diff| = 0)', async (c) => {
    // Arrange: the training side's pixels, from Pillow.
    const { data, info } = await sharp(await readFile(new URL(c.expected, FIXTURES))).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const img = await decodeImage(await readFile(new URL(c.source, FIXTURES)), { maxPixels: 1e8 });
    const segmenter = await createSegmenter(loaded, { provider: 'cpu', threads: 1 });

    try {
      // Act: serving from the raw bytes; training from Pillow's pixels, through the same normalisation.
      const served = await preprocess(img, loaded.card);
      const trained = { plan: served.plan, tensor: toTensor({ data, width: info.width, height: info.height, channels: 3 }, served.plan, loaded.card) };
      const [a, b] = [assembleBatch([served], 0), assembleBatch([trained], 0)];
      const [pa, pb] = [await segmenter.session.run(a.data, a.dims), await segmenter.session.run(b.data, b.dims)];

      // Assert
      expect([served.plan.width, served.plan.height]).toEqual([c.width, c.height]);
      let tensorDiff = 0;
      for (let i = 0; i < served.tensor.length; i++) tensorDiff = Math.max(tensorDiff, Math.abs(served.tensor[i]! - trained.tensor[i]!));
      let probDiff = 0;
      for (let i = 0; i < pa.length; i++) probDiff = Math.max(probDiff, Math.abs(pa[i]! - pb[i]!));
      expect(tensorDiff).toBe(0);
      expect(probDiff).toBe(0);
    } finally {
      await segmenter.release();
    }
  });
});
