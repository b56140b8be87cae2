/** The source side of re-processing: a prefix, listed page by page in S3's order. */
import { StorageError } from '#core/errors';
import { listPages } from '#core/listing';
import type { ListedObject, ObjectStore } from '#core/ports';

export interface ListedPage {
  /** Every object of the page, in listing order, reserved keys included (the caller decides). */
  objects: ListedObject[];
  /** True on the last page. */
  last: boolean;
}

export interface ListPrefixOptions {
  /** Resume after this key (exclusive), e.g. a checkpoint's watermark. */
  startAfter?: string;
  /** Keys per ListObjectsV2 call (S3 returns at most 1000). */
  pageSize?: number;
  signal?: AbortSignal;
}

/** S3 orders keys by their UTF-8 bytes (not by JavaScript's UTF-16 string order). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * ListObjectsV2 over a prefix, paginated. Checks that keys arrive in ascending byte order: the
 * checkpoint resumes with StartAfter, which is only safe when the store lists the way S3 does.
 */
export async function* listPrefix(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  options: ListPrefixOptions = {},
): AsyncGenerator<ListedPage> {
  let previous = options.startAfter;
  const pages = listPages(store, bucket, prefix, {
    ...(options.startAfter !== undefined ? { startAfter: options.startAfter } : {}),
    ...(options.pageSize ? { maxKeys: options.pageSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  for await (const page of pages) {
    for (const o of page.objects) {
      if (previous !== undefined && compareKeys(o.key, previous) <= 0) {
        throw new StorageError(
          `Expected ListObjectsV2 on s3://${bucket}/${prefix} to return keys in ascending UTF-8 byte order (as S3 does) ` +
            `but received ${JSON.stringify(o.key)} after ${JSON.stringify(previous)}: this store cannot be resumed safely`,
          { retryable: false },
        );
      }
      previous = o.key;
    }
    yield { objects: page.objects, last: !page.nextToken };
  }
}
