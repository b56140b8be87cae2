import type { ModelCard } from '#segment/model-card';

/** A model card for worker tests whose model session is a fake: 64 px long side, identity normalisation. */
export const TEST_CARD: ModelCard = {
  name: 'tiramisu',
  version: 'test',
  architecture: 'test',
  preset: 'test',
  file: 'none.onnx',
  sha256: '0'.repeat(64),
  parameters: 1,
  input: { name: 'image', layout: 'NCHW', colorSpace: 'sRGB', longSide: 64, sizeMultiple: 32, mean: [0, 0, 0], std: [1, 1, 1], padValue: 0 },
  output: { name: 'mask', activation: 'sigmoid' },
  threshold: 0.5,
};
