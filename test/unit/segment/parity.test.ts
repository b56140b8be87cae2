import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cardPathFor, loadModelCard } from '#segment/model-card';
import { createModelSession } from '#segment/model-session';

const FIXTURES = new URL('../../fixtures/parity/', import.meta.url);

describe('PyTorch / onnxruntime-node parity (shipped model)', () => {
  it('gives the same probabilities as PyTorch on the export fixtures (max abs diff < 1e-3)', async () => {
    // Arrange: the fixtures are written by models/export.py from the same weights as the card.
    const meta = JSON.parse(await readFile(new URL('meta.json', FIXTURES), 'utf8')) as {
      modelSha256: string;
      inputDims: [number, number, number, number];
      outputDims: number[];
    };
    const loaded = await loadModelCard(cardPathFor('tiramisu'));
    expect(meta.modelSha256, 'parity fixtures are stale: re-run models/export.py').toBe(loaded.card.sha256);
    const input = new Float32Array((await readFile(new URL('input.f32', FIXTURES))).buffer.slice(0));
    const expected = new Float32Array((await readFile(new URL('output.f32', FIXTURES))).buffer.slice(0));
    const session = await createModelSession(loaded, { provider: 'cpu', threads: 1 });

    // Act
    const actual = await session.run(input, meta.inputDims);
    await session.release();

    // Assert
    expect(actual.length).toBe(expected.length);
    let maxDiff = 0;
    for (let i = 0; i < actual.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it('refuses weights whose checksum differs from the card', async () => {
    const { mkdtemp, writeFile, copyFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'card-'));
    const card = JSON.parse(await readFile(cardPathFor('tiramisu'), 'utf8'));
    await copyFile(new URL('../../../models/tiramisu.onnx', import.meta.url), join(dir, 'tiramisu.onnx'));
    await writeFile(join(dir, 'card.json'), JSON.stringify({ ...card, sha256: '0'.repeat(64) }));
    await expect(loadModelCard(join(dir, 'card.json'))).rejects.toThrow(
      /Expected .*tiramisu\.onnx to have SHA-256 0{64} \(from its card\) but it has [0-9a-f]{64}/,
    );
  });
});
