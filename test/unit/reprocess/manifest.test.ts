import { describe, expect, it } from 'vitest';
import { encodeManifestKey, manifestLine, parseManifestUrl } from '#reprocess/manifest';
import { decodeS3Key } from '#ingest/s3-event';

describe('manifest', () => {
  it.each([
    ['incoming/my photo.jpg', 'incoming/my%20photo.jpg'],
    ['incoming/a+b.jpg', 'incoming/a%2Bb.jpg'],
    ['incoming/100%.jpg', 'incoming/100%25.jpg'],
    ['incoming/a,"b".jpg', 'incoming/a%2C%22b%22.jpg'],
    ["incoming/it's (1)*!.jpg", 'incoming/it%27s%20%281%29%2A%21.jpg'],
    ['incoming/café 📷.jpg', 'incoming/caf%C3%A9%20%F0%9F%93%B7.jpg'],
    ['incoming/line\nbreak.jpg', 'incoming/line%0Abreak.jpg'],
  ])('URL-encodes %j for the CSV, and ingest decodes it back', (key, encoded) => {
    expect(encodeManifestKey(key)).toBe(encoded);
    expect(decodeS3Key(encoded)).toBe(key);
  });

  it('writes bucket,urlencoded-key lines', () => {
    expect(manifestLine('greenscreen-uploads', 'incoming/a b.jpg')).toBe('greenscreen-uploads,incoming/a%20b.jpg\n');
  });

  it.each([
    ['s3://b/manifests/x.csv', { bucket: 'b', key: 'manifests/x.csv', format: 'S3BatchOperations_CSV_20180820' }],
    [
      's3://inv/greenscreen-uploads/all/2026-01-01T01-00Z/manifest.json',
      { bucket: 'inv', key: 'greenscreen-uploads/all/2026-01-01T01-00Z/manifest.json', format: 'S3InventoryReport_CSV_20161130' },
    ],
  ])('parses %s', (url, ref) => {
    expect(parseManifestUrl(url)).toEqual(ref);
  });

  it.each(['b/x.csv', 's3://b/', 's3://b/x.txt'])('refuses %s', (url) => {
    expect(() => parseManifestUrl(url)).toThrow(/^Expected --manifest /);
  });
});
