export * from './money';
export * from './deal/stage';
export * from './deal/deal-events';
export * from './deal/deal-commands';
export * from './deal/deal-refusal';
export * from './deal/deal-state';
export * from './deal/deal-decider';
export * from './events/upcasting';
