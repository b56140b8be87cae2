import { jobEventSchema, parseMessage, type JobEvent } from '#core/messages';

/** The events-queue message, checked (#core/messages) before anything is sent anywhere. */
export function parseJobEvent(body: string, messageId: string): JobEvent {
  return parseMessage(jobEventSchema, body, `message ${messageId}`, 'job event');
}
