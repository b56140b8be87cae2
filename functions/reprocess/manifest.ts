/** S3 Batch Operations manifests: where they come from and how their lines are written. */
import { ConfigError } from '#core/errors';

export type ManifestFormat = 'S3BatchOperations_CSV_20180820' | 'S3InventoryReport_CSV_20161130';

export interface ManifestRef {
  bucket: string;
  key: string;
  format: ManifestFormat;
}

/**
 * `s3://bucket/key.csv` is a Batch Operations CSV (Bucket,Key); `s3://…/manifest.json` is the
 * manifest of an S3 Inventory report.
 */
export function parseManifestUrl(url: string): ManifestRef {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new ConfigError(`Expected --manifest s3://bucket/key.csv or s3://bucket/…/manifest.json but received ${JSON.stringify(url)}`);
  const [, bucket, key] = m as unknown as [string, string, string];
  if (key.endsWith('manifest.json')) return { bucket, key, format: 'S3InventoryReport_CSV_20161130' };
  if (key.toLowerCase().endsWith('.csv')) return { bucket, key, format: 'S3BatchOperations_CSV_20180820' };
  throw new ConfigError(
    `Expected --manifest to name a .csv (Bucket,Key) or an S3 Inventory manifest.json but received ${JSON.stringify(url)}`,
  );
}

/**
 * A key as a manifest wants it: URL-encoded (RFC 3986, '/' kept), so commas, quotes and line
 * breaks in keys cannot break the CSV. Batch Operations decodes it and hands the Lambda function
 * the key URL-encoded again (decoded there by `decodeS3Key`).
 */
export function encodeManifestKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}

/** One CSV line per object: `bucket,urlencoded-key`. */
export function manifestLine(bucket: string, key: string): string {
  return `${bucket},${encodeManifestKey(key)}\n`;
}

export function s3ObjectArn(bucket: string, key: string): string {
  return `arn:aws:s3:::${bucket}/${key}`;
}

export function s3BucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}
