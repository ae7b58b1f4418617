export * from './kafka-envelope';
export * from './kafka-relay';
export * from './relay-checkpoint-store';
export * from './kafka-config';
export * from './consumer/deal-event-consumer';
