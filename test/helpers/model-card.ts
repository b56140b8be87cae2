import type { ModelCard } from '#segmenter/card';

/**
 * A model card for tests whose model session is a fake: 64 px long side, identity normalisation,
 * with whatever a test's assertions depend on overridden (its version, its input's size or mean/std).
 */
export function testCard(over: { version?: string; input?: Partial<ModelCard['input']> } = {}): ModelCard {
  return {
    name: 'tiramisu',
    version: over.version ?? 'test',
    architecture: 'test',
    preset: 'test',
    file: 'none.onnx',
    sha256: '0'.repeat(64),
    parameters: 1,
    input: { name: 'image', layout: 'NCHW', colorSpace: 'sRGB', longSide: 64, sizeMultiple: 32, mean: [0, 0, 0], std: [1, 1, 1], padValue: 0, ...over.input },
    output: { name: 'mask', activation: 'sigmoid' },
    threshold: 0.5,
  };
}

export const TEST_CARD = testCard();
