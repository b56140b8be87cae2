/** Listing a prefix to its end: ListObjectsV2 page after page, following the continuation token. */
import type { ListedObject, ListOptions, ListPage, ObjectStore } from './ports.ts';

export interface ListPagesOptions extends ListOptions {
  /** Checked before each request: an aborted listing ends after the page in hand. */
  signal?: AbortSignal;
}

/**
 * Every page of `prefix`, in the store's order (S3: ascending UTF-8 bytes). `startAfter` applies to
 * the first request only (later ones carry the token); `maxKeys` to every one. An empty prefix is
 * one empty page.
 */
export async function* listPages(store: ObjectStore, bucket: string, prefix: string, options: ListPagesOptions = {}): AsyncGenerator<ListPage> {
  let token: string | undefined;
  do {
    if (options.signal?.aborted) return;
    const page = await store.list(bucket, prefix, token, {
      ...(options.startAfter !== undefined && !token ? { startAfter: options.startAfter } : {}),
      ...(options.maxKeys ? { maxKeys: options.maxKeys } : {}),
    });
    token = page.nextToken;
    yield page;
  } while (token);
}

/** Every object under `prefix`, all pages read. */
export async function listAll(store: ObjectStore, bucket: string, prefix: string): Promise<ListedObject[]> {
  const all: ListedObject[] = [];
  for await (const page of listPages(store, bucket, prefix)) all.push(...page.objects);
  return all;
}
