/** How a zod validation failure reads in an error message: one clause per issue, `; ` between them. */
import type { z } from 'zod';

/** `path.to.field: message`; an issue with the whole value is `(root): message`. */
export const issueText = (issue: z.ZodIssue): string => `${issue.path.join('.') || '(root)'}: ${issue.message}`;

/** Every issue of `error`, each as `text` writes it (default `issueText`). */
export function formatIssues(error: z.ZodError, text: (issue: z.ZodIssue) => string = issueText): string {
  return error.issues.map(text).join('; ');
}
