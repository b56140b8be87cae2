/**
 * The background behind the cut-out: a checkerboard, a colour, or a picked image; shown behind the
 * cut-out on the page and used by the "with background" downloads.
 */
import { $, showError } from './dom.ts';
import type { Background } from './pixels.ts';

export interface BackgroundPicker {
  current(): Background;
}

export function createBackgroundPicker(): BackgroundPicker {
  let background: Background = { kind: 'checker' };
  let bgUrl: string | undefined;
  let bgImage: ImageBitmap | undefined;
  const stage = $('stage');

  function apply(): void {
    stage.classList.toggle('checker', background.kind === 'checker');
    stage.style.backgroundColor = background.kind === 'colour' ? background.colour : '';
    stage.style.backgroundImage = background.kind === 'image' && bgUrl ? `url("${bgUrl}")` : '';
  }

  document.querySelectorAll<HTMLInputElement>('input[name="bg"]').forEach((radio) =>
    radio.addEventListener('change', () => {
      if (radio.value === 'colour') background = { kind: 'colour', colour: $<HTMLInputElement>('colour').value };
      else if (radio.value === 'checker') background = { kind: 'checker' };
      else if (!bgImage) return $<HTMLInputElement>('bg-file').click(); // nothing picked yet: pick one
      else background = { kind: 'image', image: bgImage };
      apply();
    }),
  );
  $<HTMLInputElement>('colour').addEventListener('input', (e) => {
    background = { kind: 'colour', colour: (e.target as HTMLInputElement).value };
    $<HTMLInputElement>('bg-colour').checked = true;
    apply();
  });
  const useFile = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (!file) return;
    try {
      bgImage = await createImageBitmap(file);
      background = { kind: 'image', image: bgImage };
      if (bgUrl) URL.revokeObjectURL(bgUrl);
      bgUrl = URL.createObjectURL(file);
      $<HTMLInputElement>('bg-image').checked = true;
      apply();
    } catch {
      showError(`Expected a background image this browser can decode but ${file.name} is not one`);
    }
  };
  // useFile catches what it can fail on (an undecodable image) and says so on the page
  $<HTMLInputElement>('bg-file').addEventListener('change', (e) => void useFile(e.target as HTMLInputElement));
  return { current: () => background };
}
