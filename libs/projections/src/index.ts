export * from './projection';
export * from './runner/projection-runner';
export * from './pipeline';
export * from './analytics';
export * from './audit';
