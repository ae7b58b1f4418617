export * from './clock';
export * from './config';
export * from './keyed-mutex';
