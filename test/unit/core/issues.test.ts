import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues } from '#core/issues';

const schema = z.object({ name: z.string(), sizes: z.array(z.number().int()) });
const failure = (value: unknown) => {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('Expected the value to fail validation');
  return parsed.error;
};

describe('formatIssues', () => {
  it('names each field by its path, issues joined by "; "', () => {
    expect(formatIssues(failure({ name: 1, sizes: [1, 1.5] }))).toBe('name: Expected string, received number; sizes.1: Expected integer, received float');
  });

  it('calls an issue with the whole value (root)', () => {
    expect(formatIssues(failure('text'))).toBe('(root): Expected object, received string');
  });

  it('writes each issue as the caller asks', () => {
    expect(formatIssues(failure({ name: 'a', sizes: 'x' }), (i) => `[${i.path.join('.')}] ${i.message}`)).toBe('[sizes] Expected array, received string');
  });
});
