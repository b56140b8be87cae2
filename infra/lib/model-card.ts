/**
 * The model version the ingest function stamps on every job comes from the model card at synth
 * time, so a new model (new card) means a new deployment and new job ids (re-processing).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseModelCard } from '#segmenter/card';

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

/** The card's version, read by the one card reader (#segmenter/card); the fallback only when there is no card. */
export function readModelVersion(fallback: string, cardPath: string = MODEL_CARD_PATH): ModelVersion {
  if (!existsSync(cardPath)) return { version: fallback, source: 'fallback' };
  return { version: parseModelCard(readFileSync(cardPath, 'utf8'), cardPath).version, source: 'card' };
}
