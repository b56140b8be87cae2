/** `greenscreen run`'s output flags: checked before anything starts, with the option's own words. */
import { describe, expect, it, vi } from 'vitest';
import { main } from '#cli/main';

async function cli(...argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  try {
    return { code: await main(argv), err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('greenscreen run output flags', () => {
  it.each([
    [['--format', 'gif'], 'Expected option format (--format) to be one of png, webp, avif, jpeg but received "gif"'],
    [['--crop', '5'], 'Expected option crop (--crop) to be none, a margin in percent'],
    [['--background', 'red'], 'Expected option background (--background) to be transparent, a colour #rrggbb or #rgb'],
    [['--format', 'jpeg'], 'Expected background (--background) to be opaque (a colour, blur or image:<key>) when format is jpeg'],
  ])('%j is a usage error (exit 2) naming the flag, the value and what is allowed', async (flags, message) => {
    const { code, err } = await cli('run', '/nonexistent-dir', '--out', '/tmp/never', ...flags);
    expect(code).toBe(2);
    expect(err).toContain(message);
  });

  it('lists the output flags in its help', async () => {
    let out = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
    try {
      expect(await main(['run', '--help'])).toBe(0);
    } finally {
      o.mockRestore();
    }
    for (const flag of ['--format', '--quality', '--background', '--crop', '--max-size', '--outputs']) expect(out).toContain(flag);
  });
});
