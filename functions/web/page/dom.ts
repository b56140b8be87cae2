/** The page's few DOM helpers, shared by its modules. */

/** The element with this id; the page is broken without it, so its absence throws. */
export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`Expected #${id} in the page`);
  return el as T;
};

/** The page's one error line: a message shows it, undefined hides it. */
export function showError(message: string | undefined): void {
  const el = $('error');
  el.hidden = !message;
  el.textContent = message ?? '';
}

export const fmtMs = (ms: number) => `${Math.round(ms)} ms`;
