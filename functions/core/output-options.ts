/**
 * Output options: what a job produces. One typed spec (`OutputSpec`), carried by the job, recorded
 * in result.json and the webhook, part of the job id. Users write options as strings, the same
 * everywhere: a profile in the pipeline's configuration (per input prefix), S3 user metadata on the
 * object (`x-amz-meta-greenscreen-<option>`), or `greenscreen run --<option>`. Precedence: object
 * metadata > the longest matching prefix profile > the defaults. The codecs that honour the spec
 * live in functions/segment/codecs.ts.
 *
 * | option | values | default |
 * |---|---|---|
 * | format | png, webp, avif, jpeg (jpeg only with an opaque background) | png |
 * | quality | 1-100, or `lossless` (webp); png ignores it | webp lossless, avif 60, jpeg 90 |
 * | background | transparent, #rrggbb (or #rgb), blur, blur:<sigma 1-100>, image:backgrounds/<key> (an image in the bucket) | transparent |
 * | crop | none, <n>% (margin around the subject, % of its longer side, 0-100), <n>px (0-10000) | none |
 * | max-size | <n> px on the long side (16-20000), downscale only; none | none |
 * | outputs | both, mask, cutout | both |
 */
import { z } from 'zod';
import { PipelineError } from './errors.ts';
import { formatIssues } from './issues.ts';
import { BACKGROUNDS_PREFIX } from './resources.ts';
import { FORMAT_FILES, isOutputFormat, OPAQUE_FORMATS, OUTPUT_FORMATS } from './output-formats.ts';

export { FORMAT_FILES, OUTPUT_FORMATS, type OutputFormat } from './output-formats.ts';
export const OUTPUT_KINDS = ['both', 'mask', 'cutout'] as const;
export const OPTION_NAMES = ['format', 'quality', 'background', 'crop', 'max-size', 'outputs'] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

/** S3 user metadata keys are `x-amz-meta-<name>`; S3 returns them lower-case without the prefix. */
export const METADATA_PREFIX = 'greenscreen-';

export const backgroundSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('transparent') }),
  z.object({ type: z.literal('colour'), colour: z.string().regex(/^#[0-9a-f]{6}$/) }),
  z.object({ type: z.literal('blur'), sigma: z.number().min(1).max(100) }),
  z.object({ type: z.literal('image'), key: z.string().startsWith(BACKGROUNDS_PREFIX) }),
]);
export type Background = z.infer<typeof backgroundSchema>;

export const outputSpecSchema = z.object({
  format: z.enum(OUTPUT_FORMATS),
  /** 1-100; absent = lossless for webp, the format's default for avif/jpeg; png ignores it. */
  quality: z.number().int().min(1).max(100).optional(),
  background: backgroundSchema,
  crop: z.object({ margin: z.number().min(0), unit: z.enum(['percent', 'px']) }).optional(),
  /** Longest output side in pixels (downscale only). */
  maxSize: z.number().int().min(16).max(20_000).optional(),
  outputs: z.enum(OUTPUT_KINDS),
});
export type OutputSpec = z.infer<typeof outputSpecSchema>;

export const DEFAULT_OUTPUT_SPEC: OutputSpec = Object.freeze({
  format: 'png',
  background: { type: 'transparent' },
  outputs: 'both',
}) as OutputSpec;

/** Default blur of the photo behind a `blur` background, in pixels at the output's size. */
export const DEFAULT_BLUR_SIGMA = 20;

/** Option strings as users write them (each optional). */
export type OptionStrings = Partial<Record<OptionName, string>>;

/** A profile: these options for every object under `prefix` (the longest matching prefix wins). */
export const outputProfileSchema = z.object({
  prefix: z.string(),
  options: z.record(z.union([z.string(), z.number()])),
});
export type OutputProfile = { prefix: string; options: OptionStrings };

/** A bad option: the job ends `failed` with this code and the user gets a failure webhook. */
export class InvalidOutputOptionError extends PipelineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INVALID_OUTPUT_OPTION', message, options);
  }
}

const ALLOWED: Record<OptionName, string> = {
  format: `one of ${OUTPUT_FORMATS.join(', ')}`,
  quality: 'an integer from 1 to 100, or "lossless" (webp)',
  background: `transparent, a colour #rrggbb or #rgb, blur, blur:<sigma 1-100>, or image:${BACKGROUNDS_PREFIX}<name> (an image in the bucket under ${BACKGROUNDS_PREFIX})`,
  crop: 'none, a margin in percent of the subject\'s longer side (0-100, e.g. 5%) or in pixels (0-10000, e.g. 40px)',
  'max-size': 'none or an integer number of pixels from 16 to 20000 (the output\'s long side)',
  outputs: 'one of both, mask, cutout',
};

function bad(option: string, value: string, where: string): InvalidOutputOptionError {
  return new InvalidOutputOptionError(
    `Expected option ${option} (${where}) to be ${ALLOWED[option as OptionName] ?? `one of ${OPTION_NAMES.join(', ')}`} but received ${JSON.stringify(value)}`,
  );
}

/** Parsed options of one layer: only the options that layer sets. */
type Layer = Partial<Omit<OutputSpec, 'quality' | 'crop' | 'maxSize'>> & {
  quality?: number | 'lossless';
  crop?: OutputSpec['crop'] | 'none';
  maxSize?: number | 'none';
};

/**
 * Parse one layer of option strings. `where` names their origin in errors, e.g.
 * "from x-amz-meta-greenscreen-format" or "from the profile for incoming/shop/".
 */
export function parseOptionStrings(options: Record<string, string | number>, where: (option: string) => string): Layer {
  const layer: Layer = {};
  for (const [rawName, rawValue] of Object.entries(options)) {
    const name = rawName.toLowerCase();
    const value = String(rawValue).trim();
    const v = value.toLowerCase();
    switch (name) {
      case 'format': {
        const f = v === 'jpg' ? 'jpeg' : v;
        if (!isOutputFormat(f)) throw bad(name, value, where(name));
        layer.format = f;
        break;
      }
      case 'quality': {
        if (v === 'lossless') layer.quality = 'lossless';
        else if (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 100) layer.quality = Number(v);
        else throw bad(name, value, where(name));
        break;
      }
      case 'background': {
        const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(v);
        const blur = /^blur(?::(\d+(?:\.\d+)?))?$/.exec(v);
        if (v === 'transparent' || v === 'none') layer.background = { type: 'transparent' };
        else if (/^#[0-9a-f]{6}$/.test(v)) layer.background = { type: 'colour', colour: v };
        else if (short) layer.background = { type: 'colour', colour: `#${short[1]!.repeat(2)}${short[2]!.repeat(2)}${short[3]!.repeat(2)}` };
        else if (blur && (blur[1] === undefined || (Number(blur[1]) >= 1 && Number(blur[1]) <= 100))) {
          layer.background = { type: 'blur', sigma: blur[1] === undefined ? DEFAULT_BLUR_SIGMA : Number(blur[1]) };
        } else if (value.startsWith(`image:${BACKGROUNDS_PREFIX}`) && value.length > `image:${BACKGROUNDS_PREFIX}`.length && !value.endsWith('/')) {
          layer.background = { type: 'image', key: value.slice('image:'.length) };
        } else throw bad(name, value, where(name));
        break;
      }
      case 'crop': {
        const m = /^(\d+(?:\.\d+)?)(%|px)$/.exec(v);
        if (v === 'none') layer.crop = 'none';
        else if (m && (m[2] === '%' ? Number(m[1]) <= 100 : Number(m[1]) <= 10_000)) {
          layer.crop = { margin: Number(m[1]), unit: m[2] === '%' ? 'percent' : 'px' };
        } else throw bad(name, value, where(name));
        break;
      }
      case 'max-size': {
        if (v === 'none') layer.maxSize = 'none';
        else if (/^\d+$/.test(v) && Number(v) >= 16 && Number(v) <= 20_000) layer.maxSize = Number(v);
        else throw bad(name, value, where(name));
        break;
      }
      case 'outputs': {
        if (!(OUTPUT_KINDS as readonly string[]).includes(v)) throw bad(name, value, where(name));
        layer.outputs = v as OutputSpec['outputs'];
        break;
      }
      default:
        throw new InvalidOutputOptionError(
          `Expected an output option (${where(rawName)}) named one of ${OPTION_NAMES.join(', ')} but received ${JSON.stringify(rawName)}`,
        );
    }
  }
  return layer;
}

function apply(spec: OutputSpec, layer: Layer): OutputSpec {
  const next: OutputSpec = { ...spec };
  if (layer.format) next.format = layer.format;
  if (layer.background) next.background = layer.background;
  if (layer.outputs) next.outputs = layer.outputs;
  if (layer.quality === 'lossless') delete next.quality;
  else if (layer.quality !== undefined) next.quality = layer.quality;
  if (layer.crop === 'none') delete next.crop;
  else if (layer.crop) next.crop = layer.crop;
  if (layer.maxSize === 'none') delete next.maxSize;
  else if (layer.maxSize !== undefined) next.maxSize = layer.maxSize;
  return next;
}

/** Checks across options, after all layers are applied. */
function checkCombination(spec: OutputSpec, where: string): void {
  if (OPAQUE_FORMATS.includes(spec.format) && spec.background.type === 'transparent' && spec.outputs !== 'mask') {
    const { label } = FORMAT_FILES[spec.format];
    throw new InvalidOutputOptionError(
      `Expected background (${where}) to be opaque (a colour, blur or image:<key>) when format is ${spec.format} (${label} has no alpha channel) but received "transparent"`,
    );
  }
}

/** The longest profile prefix that `key` starts with. */
export function profileFor(profiles: readonly OutputProfile[], key: string): OutputProfile | undefined {
  let best: OutputProfile | undefined;
  for (const p of profiles) if (key.startsWith(p.prefix) && (!best || p.prefix.length > best.prefix.length)) best = p;
  return best;
}

/** The `greenscreen-*` entries of S3 user metadata, without the prefix. */
export function optionsFromMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    const key = k.toLowerCase();
    if (key.startsWith(METADATA_PREFIX)) out[key.slice(METADATA_PREFIX.length)] = v;
  }
  return out;
}

/**
 * The spec for one object: defaults, then its prefix profile, then its own metadata. Throws an
 * InvalidOutputOptionError naming the option, its origin, the value and what is allowed.
 */
export function resolveOutputSpec(input: {
  key: string;
  profiles: readonly OutputProfile[];
  metadata?: Record<string, string>;
}): OutputSpec {
  const profile = profileFor(input.profiles, input.key);
  let spec = DEFAULT_OUTPUT_SPEC;
  if (profile) spec = apply(spec, parseOptionStrings(profile.options, () => `from the profile for ${JSON.stringify(profile.prefix)}`));
  const fromMetadata = optionsFromMetadata(input.metadata);
  spec = apply(spec, parseOptionStrings(fromMetadata, (o) => `from x-amz-meta-${METADATA_PREFIX}${o}`));
  checkCombination(spec, Object.keys(fromMetadata).length ? 'from object metadata and profile' : profile ? `from the profile for ${JSON.stringify(profile.prefix)}` : 'default');
  return spec;
}

/**
 * Profiles from configuration (GREENSCREEN_OUTPUT_PROFILES): a JSON array of
 * `{ "prefix": "incoming/shop/", "options": { "format": "jpeg", "background": "#ffffff", ... } }`.
 * Every profile is checked at start-up: a bad one stops the function with its prefix and option.
 */
export function parseProfiles(json: string | undefined): OutputProfile[] {
  if (json === undefined || json.trim() === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new InvalidOutputOptionError(`Expected output profiles to be a JSON array but received text that is not JSON`, { cause: err });
  }
  const parsed = z.array(outputProfileSchema).safeParse(raw);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error);
    throw new InvalidOutputOptionError(`Expected output profiles as [{"prefix": "...", "options": {...}}] but: ${problems}`, { cause: parsed.error });
  }
  const profiles = parsed.data.map((p) => ({ prefix: p.prefix, options: Object.fromEntries(Object.entries(p.options).map(([k, v]) => [k, String(v)])) }));
  for (const p of profiles) resolveOutputSpec({ key: p.prefix, profiles: [p] });
  return profiles;
}

/** Canonical text of a spec (sorted keys): part of the job id. */
export function canonicalSpec(spec: OutputSpec): string {
  const sort = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sort(x)]))
      : v;
  return JSON.stringify(sort(spec));
}

export function isDefaultSpec(spec: OutputSpec): boolean {
  return canonicalSpec(spec) === canonicalSpec(DEFAULT_OUTPUT_SPEC);
}

/** The spec as option strings (for `greenscreen run` echoes and docs). */
export function specToStrings(spec: OutputSpec): OptionStrings {
  const bg = spec.background;
  return {
    format: spec.format,
    ...(spec.quality !== undefined ? { quality: String(spec.quality) } : {}),
    background: bg.type === 'transparent' ? 'transparent' : bg.type === 'colour' ? bg.colour : bg.type === 'blur' ? `blur:${bg.sigma}` : `image:${bg.key}`,
    ...(spec.crop ? { crop: `${spec.crop.margin}${spec.crop.unit === 'percent' ? '%' : 'px'}` } : {}),
    ...(spec.maxSize !== undefined ? { 'max-size': String(spec.maxSize) } : {}),
    outputs: spec.outputs,
  };
}
