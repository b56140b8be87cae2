import { describe, expect, it } from 'vitest';
import {
  DEFAULT_OUTPUT_SPEC,
  InvalidOutputOptionError,
  parseProfiles,
  resolveOutputSpec,
  type OutputProfile,
} from '#core/output-options';
import { jobIdFor, resultKeys } from '#core/results';

const PROFILES: OutputProfile[] = [
  { prefix: 'incoming/', options: { format: 'webp' } },
  { prefix: 'incoming/shop/', options: { format: 'jpeg', background: '#fff', 'max-size': '2000', crop: '5%' } },
];

describe('resolveOutputSpec', () => {
  it('gives the defaults when no profile matches and the object has no options', () => {
    expect(resolveOutputSpec({ key: 'other/a.jpg', profiles: PROFILES })).toEqual(DEFAULT_OUTPUT_SPEC);
  });

  it('takes the longest matching prefix profile', () => {
    expect(resolveOutputSpec({ key: 'incoming/shop/a.jpg', profiles: PROFILES })).toEqual({
      format: 'jpeg',
      background: { type: 'colour', colour: '#ffffff' },
      maxSize: 2000,
      crop: { margin: 5, unit: 'percent' },
      outputs: 'both',
    });
    expect(resolveOutputSpec({ key: 'incoming/a.jpg', profiles: PROFILES }).format).toBe('webp');
  });

  it('lets object metadata override the profile, option by option (metadata > prefix > default)', () => {
    const spec = resolveOutputSpec({
      key: 'incoming/shop/a.jpg',
      profiles: PROFILES,
      metadata: { 'greenscreen-background': 'blur:8', 'greenscreen-crop': 'none', 'greenscreen-quality': '70', other: 'x' },
    });
    expect(spec).toEqual({ format: 'jpeg', quality: 70, background: { type: 'blur', sigma: 8 }, maxSize: 2000, outputs: 'both' });
  });

  it.each([
    ['format', 'gif', 'Expected option format (from x-amz-meta-greenscreen-format) to be one of png, webp, avif, jpeg but received "gif"'],
    ['quality', '0', 'Expected option quality (from x-amz-meta-greenscreen-quality) to be an integer from 1 to 100, or "lossless" (webp) but received "0"'],
    ['quality', 'high', 'Expected option quality (from x-amz-meta-greenscreen-quality) to be an integer from 1 to 100, or "lossless" (webp) but received "high"'],
    ['background', 'red', 'Expected option background (from x-amz-meta-greenscreen-background) to be transparent, a colour #rrggbb or #rgb, blur, blur:<sigma 1-100>, or image:backgrounds/<name> (an image in the bucket under backgrounds/) but received "red"'],
    ['background', 'blur:500', 'Expected option background (from x-amz-meta-greenscreen-background) to be transparent, a colour #rrggbb or #rgb, blur, blur:<sigma 1-100>, or image:backgrounds/<name> (an image in the bucket under backgrounds/) but received "blur:500"'],
    ['crop', '150%', `Expected option crop (from x-amz-meta-greenscreen-crop) to be none, a margin in percent of the subject's longer side (0-100, e.g. 5%) or in pixels (0-10000, e.g. 40px) but received "150%"`],
    ['max-size', '8', `Expected option max-size (from x-amz-meta-greenscreen-max-size) to be none or an integer number of pixels from 16 to 20000 (the output's long side) but received "8"`],
    ['outputs', 'alpha', 'Expected option outputs (from x-amz-meta-greenscreen-outputs) to be one of both, mask, cutout but received "alpha"'],
    ['colour', '#fff', 'Expected an output option (from x-amz-meta-greenscreen-colour) named one of format, quality, background, crop, max-size, outputs but received "colour"'],
  ])('refuses %s=%s, naming the option, where it came from, the value and what is allowed', (option, value, message) => {
    const resolve = () => resolveOutputSpec({ key: 'incoming/a.jpg', profiles: [], metadata: { [`greenscreen-${option}`]: value } });
    expect(resolve).toThrow(new InvalidOutputOptionError(message));
    expect(resolve).toThrow(expect.objectContaining({ code: 'INVALID_OUTPUT_OPTION', retryable: false }));
  });

  it('refuses a JPEG with a transparent background (JPEG has no alpha)', () => {
    expect(() => resolveOutputSpec({ key: 'incoming/a.jpg', profiles: [], metadata: { 'greenscreen-format': 'jpg' } })).toThrow(
      'Expected background (from object metadata and profile) to be opaque (a colour, blur or image:<key>) when format is jpeg (JPEG has no alpha channel) but received "transparent"',
    );
    expect(resolveOutputSpec({ key: 'a', profiles: [], metadata: { 'greenscreen-format': 'jpeg', 'greenscreen-outputs': 'mask' } }).format).toBe('jpeg');
  });
});

describe('parseProfiles', () => {
  it('reads a JSON array and checks every profile at start-up', () => {
    expect(parseProfiles('[{"prefix":"incoming/shop/","options":{"format":"jpeg","background":"#ffffff","max-size":2000}}]')).toEqual([
      { prefix: 'incoming/shop/', options: { format: 'jpeg', background: '#ffffff', 'max-size': '2000' } },
    ]);
    expect(parseProfiles(undefined)).toEqual([]);
    expect(() => parseProfiles('[{"prefix":"incoming/x/","options":{"format":"bmp"}}]')).toThrow(
      'Expected option format (from the profile for "incoming/x/") to be one of png, webp, avif, jpeg but received "bmp"',
    );
    expect(() => parseProfiles('{oops')).toThrow('Expected output profiles to be a JSON array but received text that is not JSON');
    expect(() => parseProfiles('[{"options":{}}]')).toThrow('Expected output profiles as [{"prefix": "...", "options": {...}}] but: 0.prefix: Required');
  });
});

describe('options in the job id and the result keys', () => {
  const source = { bucket: 'b', key: 'incoming/a.jpg', etag: 'e' };
  it('keeps the id of a default job and gives other options another id', () => {
    const webp = resolveOutputSpec({ key: 'incoming/a.jpg', profiles: PROFILES });
    expect(jobIdFor(source, 'm', DEFAULT_OUTPUT_SPEC)).toBe(jobIdFor(source, 'm'));
    expect(jobIdFor(source, 'm', webp)).not.toBe(jobIdFor(source, 'm'));
    expect(jobIdFor(source, 'm', { ...webp, quality: 80 })).not.toBe(jobIdFor(source, 'm', webp));
  });

  it('names only the outputs asked for, the cut-out with its format\'s extension', () => {
    expect(resultKeys('incoming/a.jpg', 'j', { ...DEFAULT_OUTPUT_SPEC, format: 'jpeg', outputs: 'cutout' })).toEqual({
      cutout: 'results/incoming/a.jpg/j/cutout.jpg',
      result: 'results/incoming/a.jpg/result.json',
    });
    expect(resultKeys('incoming/a.jpg', 'j', { ...DEFAULT_OUTPUT_SPEC, outputs: 'mask' })).toEqual({
      mask: 'results/incoming/a.jpg/j/mask.png',
      result: 'results/incoming/a.jpg/result.json',
    });
  });
});
