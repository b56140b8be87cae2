/**
 * The model version the ingest function stamps on every job comes from the model card at synth
 * time, so a new model (new card) means a new deployment and new job ids (re-processing).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (infra/lib/ -> ../..): Docker build context and home of models/. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const MODEL_CARD_PATH = resolve(REPO_ROOT, 'models/tiramisu.card.json');

/** Where the image puts the card (Dockerfile WORKDIR /app + models/). */
export const MODEL_CARD_IN_IMAGE = '/app/models/tiramisu.card.json';

export interface ModelVersion {
  version: string;
  /** 'card' when read from the card, 'fallback' when the card is missing (context / 'unversioned'). */
  source: 'card' | 'fallback';
}

export function readModelVersion(fallback: string, cardPath: string = MODEL_CARD_PATH): ModelVersion {
  if (!existsSync(cardPath)) return { version: fallback, source: 'fallback' };
  let card: unknown;
  try {
    card = JSON.parse(readFileSync(cardPath, 'utf8'));
  } catch (err) {
    throw new Error(`Expected ${cardPath} to be JSON but could not parse it: ${(err as Error).message}`, { cause: err });
  }
  const version = (card as { version?: unknown } | null)?.version;
  if (typeof version !== 'string' || version.length === 0) {
    throw new Error(`Expected ${cardPath} to have a non-empty string "version" but received ${JSON.stringify(version)}`);
  }
  return { version, source: 'card' };
}
