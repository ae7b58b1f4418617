export * from './deal-event-envelope';
