/**
 * One line for a failed command: what was expected and what arrived, once, with a hint where one
 * helps. System errors (ENOENT, ECONNREFUSED…) are said in words instead of Node's raw text, and a
 * code is printed once (a PipelineError's message never starts with its code).
 */
import { PipelineError } from '#core/errors';

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
  errors?: unknown[];
}

/** The error and every cause below it (AggregateError members too), outermost first. */
function chain(err: unknown): SystemError[] {
  const out: SystemError[] = [];
  const visit = (e: unknown, depth: number) => {
    if (!(e instanceof Error) || depth > 8) return;
    out.push(e as SystemError);
    if ((e as SystemError).errors) for (const inner of (e as SystemError).errors!) visit(inner, depth + 1);
    visit((e as Error & { cause?: unknown }).cause, depth + 1);
  };
  visit(err, 0);
  return out;
}

function systemMessage(e: SystemError): string | undefined {
  const where = e.path ? ` ${e.path}` : '';
  switch (e.code) {
    case 'ECONNREFUSED': {
      const at = e.address ? `${e.address}${e.port ? `:${e.port}` : ''}` : 'the endpoint';
      return `Expected a greenscreen stack at ${at} but nothing answers there; start one with \`greenscreen dev\``;
    }
    case 'ENOENT':
      return `Expected a file or folder at${where} but there is none`;
    case 'ENOTDIR':
      return `Expected a folder at${where} but it is a file`;
    case 'EISDIR':
      return `Expected a file at${where} but it is a folder`;
    case 'EACCES':
    case 'EPERM':
      return `Expected permission to ${e.syscall ?? 'use'}${where} but it was denied`;
    case 'EADDRINUSE':
      return `Expected port ${e.port ?? ''} to be free but another process listens on it (another \`greenscreen dev\`?); stop it or pick another --port`;
    case 'EADDRNOTAVAIL':
      return `Expected --host ${e.address ?? ''} to be an address of this machine but it is not`;
    default:
      return undefined;
  }
}

export function describeError(err: unknown): string {
  const errors = chain(err);
  for (const e of errors) {
    const said = systemMessage(e);
    if (said) return said;
  }
  const top = errors[0];
  if (!top) return String(err);
  if (top instanceof PipelineError) {
    const prefix = `${top.code}: `;
    return top.message.startsWith(prefix) ? top.message : prefix + top.message;
  }
  return top.message;
}
