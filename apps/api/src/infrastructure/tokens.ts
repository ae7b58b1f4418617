/** Injection tokens for the ports, so application code depends on interfaces, not adapters. */
export const EVENT_STORE = Symbol('EventStore');
export const IDEMPOTENCY_STORE = Symbol('IdempotencyStore');
export const APP_CONFIG = Symbol('AppConfig');
export const READ_MODEL_STORE = Symbol('ReadModelStore');
export const LEASE_STORE = Symbol('LeaseStore');
