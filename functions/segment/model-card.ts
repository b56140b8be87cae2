/**
 * The shipped models, by name, and loading one in Node: the card (parsed by #segmenter/card, the one
 * card reader), the weights it names, and their checksum.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, ModelError } from '#core/errors';
import { parseModelCard, type ModelCard } from '#segmenter/card';

/** Models shipped with the code, by name. Unknown names are rejected, nothing is downloaded. */
export const MODEL_REGISTRY: Record<string, string> = {
  tiramisu: resolve(dirname(fileURLToPath(import.meta.url)), '../../models/tiramisu.card.json'),
};

export function cardPathFor(name: string): string {
  const path = MODEL_REGISTRY[name];
  if (!path) throw new ConfigError(`Expected a model name in [${Object.keys(MODEL_REGISTRY).join(', ')}] but received ${JSON.stringify(name)}`);
  return path;
}

export interface LoadedCard {
  card: ModelCard;
  modelPath: string;
  weights: Buffer;
}

/** Read the card, read the weights it names, and refuse to go on if the checksum differs. */
export async function loadModelCard(cardPath: string): Promise<LoadedCard> {
  let raw: string;
  try {
    raw = await readFile(cardPath, 'utf8');
  } catch (err) {
    throw new ModelError(`Expected a model card at ${cardPath} but could not read it: ${(err as Error).message}`, { cause: err });
  }
  const card = parseModelCard(raw, cardPath);
  const modelPath = resolve(dirname(cardPath), card.file);
  const weights = await readFile(modelPath).catch((err: Error) => {
    throw new ModelError(`Expected model weights at ${modelPath} but could not read them: ${err.message}`, { cause: err });
  });
  const sha256 = createHash('sha256').update(weights).digest('hex');
  if (sha256 !== card.sha256) {
    throw new ModelError(`Expected ${modelPath} to have SHA-256 ${card.sha256} (from its card) but it has ${sha256}`);
  }
  return { card, modelPath, weights };
}
