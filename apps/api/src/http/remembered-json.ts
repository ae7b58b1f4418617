import type { FastifyReply } from 'fastify';

/** The JSON text of objects already written once, for as long as they live. */
const written = new WeakMap<object, string>();

/**
 * JSON.stringify for an answer assembled from remembered parts: the memos of the analytics and
 * pipeline queries hand the same objects to every asker until the read model changes, and writing
 * 20–50 KB of them again for each ask was the largest cost of a remembered answer. Each top-level
 * member that is an object is written once and its text reused while that object lives; the
 * members made per ask (`now`, `projection`) are written each time. So the parts must never change
 * once answered, which the memos already require (every asker shares them). The same text as
 * JSON.stringify for plain data.
 */
export function rememberedJson(answer: object): string {
  let text = '';
  for (const [key, member] of Object.entries(answer)) {
    let json: string | undefined;
    if (typeof member === 'object' && member !== null) {
      json = written.get(member);
      if (json === undefined) written.set(member, (json = JSON.stringify(member)));
    } else {
      json = JSON.stringify(member);
    }
    // As JSON.stringify does, a member with no JSON form (undefined, a function) is left out.
    if (json !== undefined) text += `${text === '' ? '' : ','}${JSON.stringify(key)}:${json}`;
  }
  return `{${text}}`;
}

/** Answers this reply with rememberedJson. */
export function writeRemembered(reply: FastifyReply): void {
  void reply.serializer(rememberedJson);
}
