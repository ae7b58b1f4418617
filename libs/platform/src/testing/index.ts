export * from './sqlite-files';
