/**
 * Is there a person in the photo? Decided from the model's own evidence, at its input size:
 * `area` = fraction of the map at probability >= 0.5, `confidence` = mean probability of those
 * pixels. Outcome when there is none: the job succeeds with `subject: "none"`, an all-zero mask and
 * a cut-out with nothing of the photo in it (fully transparent, or only the chosen background).
 *
 * The thresholds belong to the model: each model's card carries its own `subject` rule, calibrated
 * by `npm run bench:subject -- --model-card <card> --calibrate` on person-free photos and photos of
 * people (at most 1 % of the people photos called "none" and no set of them over 2 %, as many
 * person-free photos as that allows). A card without one gets DEFAULT_SUBJECT_RULE, calibrated for tiramisu@2026.11.25-2,
 * which was trained only on photos that have a person in them and marks a confident region on most
 * person-free photos (median confidence 0.88): for it the rule can only be conservative (it must
 * never erase a real person): `none` only when nothing reaches 0.5 or the mean confidence is below 0.77.
 */

export interface SubjectEvidence {
  area: number;
  confidence: number;
}

/** Evidence from the model's 8-bit probability map (probability x 255). */
export function subjectEvidence(prob: Uint8Array): SubjectEvidence {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i]!;
    if (p >= 128) {
      n++;
      sum += p;
    }
  }
  return { area: prob.length ? n / prob.length : 0, confidence: n ? sum / n / 255 : 0 };
}

/** "Nobody in the photo" when the found region is no larger than `maxArea`, or less confident than `minConfidence`. */
export interface SubjectRule {
  /** Fraction of the model's map (at its input size), 0-1; 0 = only an empty map. */
  maxArea: number;
  /** Mean probability of the found region, 0-1. */
  minConfidence: number;
}

/** The rule for cards that carry none (see above). */
export const DEFAULT_SUBJECT_RULE: SubjectRule = { maxArea: 0, minConfidence: 0.77 };

export type Subject = 'person' | 'none';

export function decideSubject(e: SubjectEvidence, rule: SubjectRule = DEFAULT_SUBJECT_RULE): Subject {
  return e.area <= rule.maxArea || e.confidence < rule.minConfidence ? 'none' : 'person';
}
