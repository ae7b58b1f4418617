export * from './eventually';
export * from './sqlite-files';
