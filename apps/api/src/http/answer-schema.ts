import type { SchemaObject } from '@nestjs/swagger';

/**
 * Helpers for the OpenAPI description of answers. An answer's object holds exactly its properties:
 * every one is always there (null where it has no value) unless named optional, and no other appears, so the description is
 * a contract the answer-shape test holds each route to (openapi-answers.e2e.spec.ts).
 */
export function exactObject(properties: Record<string, SchemaObject>, { description, optional = [] }: { description?: string; optional?: readonly string[] } = {}): SchemaObject {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((name) => !optional.includes(name)),
    additionalProperties: false,
    ...(description === undefined ? {} : { description }),
  };
}

/** May be null; an enum then lists null among its values too, as OpenAPI 3.0.3 requires of a nullable enum. */
export const nullable = (schema: SchemaObject): SchemaObject => ({ ...schema, nullable: true, ...(schema.enum === undefined ? {} : { enum: [...schema.enum, null] }) });

export const isoTime: SchemaObject = { type: 'string', format: 'date-time' };
export const integer: SchemaObject = { type: 'integer' };
export const number: SchemaObject = { type: 'number' };
export const text: SchemaObject = { type: 'string' };
export const uuid: SchemaObject = { type: 'string', format: 'uuid' };

/** A map keyed by ISO 4217 currency code. */
export const byCurrency = (schema: SchemaObject): SchemaObject => ({ type: 'object', additionalProperties: schema, description: 'Keyed by ISO 4217 currency code' });
