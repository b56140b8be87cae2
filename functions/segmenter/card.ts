/**
 * The model card (models/*.card.json): its shape and its one reader. Pure and small (no `node:`, no
 * zod: the page loads it, within its size budget), so the worker's loader
 * (functions/segment/model-card.ts: file, weights, checksum), the page (fetched from its own origin)
 * and infra (the version stamped on jobs at synth time) all read a card here. Fields the shape does
 * not name are kept: the card is the exporter's (models/export.py).
 */
import { ModelError } from '#core/errors';
import type { SubjectRule } from './subject.ts';

export interface ModelCard {
  name: string;
  version: string;
  architecture: string;
  preset: string;
  /** The weights, relative to the card. */
  file: string;
  sha256: string;
  parameters: number;
  /** Size of the weights file, when the exporter wrote it. */
  bytes?: number;
  input: {
    name: string;
    layout: 'NCHW';
    colorSpace: 'sRGB';
    longSide: number;
    sizeMultiple: number;
    mean: [number, number, number];
    std: [number, number, number];
    /** Value (after normalisation) of the padding added to reach sizeMultiple. */
    padValue: number;
  };
  output: { name: string; activation: 'sigmoid' };
  threshold: number;
  /** The model's "nobody in the photo" rule (subject.ts), when calibrated for it. */
  subject?: SubjectRule;
  [field: string]: unknown;
}

/** A field's rule: what it must be, in words, or undefined when the value is fine. */
type Rule = (v: unknown) => string | undefined;
interface Shape {
  [field: string]: Rule | Shape;
}

const text = (min = 0): Rule => (v) => (typeof v === 'string' && v.length >= min ? undefined : min ? 'a non-empty string' : 'a string');
const number = (o: { int?: boolean; positive?: boolean; min?: number; max?: number } = {}): Rule => (v) =>
  typeof v === 'number' && Number.isFinite(v) && (!o.int || Number.isInteger(v)) && (!o.positive || v > 0) && (o.min === undefined || v >= o.min) && (o.max === undefined || v <= o.max)
    ? undefined
    : `${o.positive ? 'a positive ' : 'a '}${o.int ? 'integer' : 'number'}${o.min !== undefined && o.max !== undefined ? ` from ${o.min} to ${o.max}` : ''}`;
const literal = (x: string): Rule => (v) => (v === x ? undefined : JSON.stringify(x));
const optional = (rule: Rule): Rule => (v) => (v === undefined ? undefined : rule(v));
const three: Rule = (v) => (Array.isArray(v) && v.length === 3 && v.every((n) => typeof n === 'number' && Number.isFinite(n)) ? undefined : 'three numbers');

const CARD: Shape = {
  name: text(1),
  version: text(1),
  architecture: text(),
  preset: text(),
  file: text(1),
  sha256: (v) => (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) ? undefined : 'a SHA-256 (64 lower-case hex digits)'),
  parameters: number({ int: true, positive: true }),
  bytes: optional(number({ int: true, positive: true })),
  input: {
    name: text(),
    layout: literal('NCHW'),
    colorSpace: literal('sRGB'),
    longSide: number({ int: true, positive: true }),
    sizeMultiple: number({ int: true, positive: true }),
    mean: three,
    std: three,
    padValue: number(),
  },
  output: { name: text(), activation: literal('sigmoid') },
  threshold: number({ min: 0, max: 1 }),
  subject: optional((v) => {
    const rule = v as Partial<SubjectRule> | null;
    const fraction = number({ min: 0, max: 1 });
    return typeof rule === 'object' && rule !== null && !fraction(rule.maxArea) && !fraction(rule.minConfidence)
      ? undefined
      : 'a rule { maxArea, minConfidence }, each a number from 0 to 1';
  }),
};

const shown = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 80) ?? String(v));

function check(shape: Shape, value: unknown, path: string, problems: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${path || '(card)'}: expected an object but received ${shown(value)}`);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const [field, rule] of Object.entries(shape)) {
    const where = path ? `${path}.${field}` : field;
    if (typeof rule === 'function') {
      const expected = rule(obj[field]);
      if (expected) problems.push(`${where}: expected ${expected} but received ${shown(obj[field])}`);
    } else check(rule, obj[field], where, problems);
  }
}

/**
 * A card from its JSON text (or the value already parsed), checked; `where` names it in errors (a
 * path or a URL). Throws a ModelError naming every field that is wrong, what it must be and what it is.
 */
export function parseModelCard(json: string | unknown, where: string): ModelCard {
  let raw: unknown = json;
  if (typeof json === 'string') {
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new ModelError(`Expected the model card at ${where} to be JSON but could not parse it: ${(err as Error).message}`, { cause: err });
    }
  }
  const problems: string[] = [];
  check(CARD, raw, '', problems);
  if (problems.length) throw new ModelError(`Expected a valid model card at ${where}: ${problems.join('; ')}`);
  return raw as ModelCard;
}
