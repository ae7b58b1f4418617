export * from './pipeline.projection';
export * from './pipeline.query';
export * from './pipeline-memo';
