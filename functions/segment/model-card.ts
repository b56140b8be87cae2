/** The model card is the one source of truth for pre-processing: the worker and eval both read it. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, ModelError } from '#core/errors';
import { formatIssues } from '#core/issues';

export const modelCardSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  architecture: z.string(),
  preset: z.string(),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  parameters: z.number().int().positive(),
  input: z.object({
    name: z.string(),
    layout: z.literal('NCHW'),
    colorSpace: z.literal('sRGB'),
    longSide: z.number().int().positive(),
    sizeMultiple: z.number().int().positive(),
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number(), z.number(), z.number()]),
    /** Value (after normalisation) of the padding added to reach sizeMultiple. */
    padValue: z.number(),
  }),
  output: z.object({ name: z.string(), activation: z.literal('sigmoid') }),
  threshold: z.number().min(0).max(1),
}).passthrough();

export type ModelCard = z.infer<typeof modelCardSchema>;

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
  const parsed = modelCardSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    throw new ModelError(`Expected a valid model card at ${cardPath}: ${formatIssues(parsed.error)}`);
  }
  const card = parsed.data;
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
