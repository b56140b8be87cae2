import { describe, expect, it } from 'vitest';
import { scoreMask } from '#evaluation/metrics';

/** A w x h mask from rows of '#' (255) and '.' (0). */
const mask = (rows: string[]) => Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 255 : 0));

describe('scoreMask', () => {
  const truth = mask(['........', '..####..', '..####..', '........']);

  it('scores a perfect prediction 1 and an empty one 0', () => {
    expect(scoreMask(truth, truth, 8, 4)).toMatchObject({ intersection: 8, union: 8, iou: 1, mae: 0, boundaryF: 1 });
    expect(scoreMask(new Uint8Array(32), truth, 8, 4)).toMatchObject({ intersection: 0, union: 8, iou: 0, mae: 8 / 32, boundaryF: 0 });
  });

  it('leaves ignored pixels out of IoU, MAE and boundary F', () => {
    // Arrange: the prediction adds a blob on the right; that region is marked "ignore".
    const pred = mask(['........', '..####.#', '..####.#', '........']);
    const ignore = mask(['......##', '......##', '......##', '......##']);

    // Act
    const counted = scoreMask(pred, truth, 8, 4);
    const ignored = scoreMask(pred, truth, 8, 4, ignore);

    // Assert
    expect(counted).toMatchObject({ intersection: 8, union: 10 });
    expect(counted.iou).toBeCloseTo(0.8, 10);
    expect(counted.mae).toBeCloseTo(2 / 32, 10);
    expect(ignored).toMatchObject({ intersection: 8, union: 8, iou: 1, mae: 0, boundaryF: 1 });
  });

  it('counts an ignored region that hides a true person nowhere, not as a miss', () => {
    const ignore = mask(['........', '....##..', '....##..', '........']);
    const pred = mask(['........', '..##....', '..##....', '........']);
    const s = scoreMask(pred, truth, 8, 4, ignore);
    expect(s).toMatchObject({ intersection: 4, union: 4, iou: 1, mae: 0 });
  });

  it('scores an empty truth with an empty prediction as perfect (person-free frames)', () => {
    const empty = new Uint8Array(32);
    expect(scoreMask(empty, empty, 8, 4)).toMatchObject({ union: 0, iou: 1, mae: 0, boundaryF: 1 });
  });

  it('says what sizes it expected', () => {
    expect(() => scoreMask(truth, truth, 8, 4, new Uint8Array(5))).toThrow('Expected three 8x4 masks but received 32, 32 and 5 pixels');
    expect(() => scoreMask(truth, new Uint8Array(3), 8, 4)).toThrow('Expected two 8x4 masks but received 32, 3 pixels');
  });
});
