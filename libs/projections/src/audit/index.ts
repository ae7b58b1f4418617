export * from './audit-hash';
export * from './audit.projection';
export * from './audit.query';
export * from './audit-verify';
