export * from './analytics-memo';
export * from './analytics.projection';
export * from './analytics.query';
export * from './cycle-metrics';
export * from './deal-timeline';
