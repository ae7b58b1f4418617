export * from './deal-event-envelope';
export * from './deal-stream-lag';
