// The pipeline projection's public surface (libs/projections/src/pipeline), in one place: reached by
// path until the @deals/projections index re-exports it, after which only this line changes.
export * from '../../../../libs/projections/src/pipeline';
