// The analytics projection's public surface (libs/projections/src/analytics), in one place: reached
// by path until the @deals/projections index re-exports it, after which only this line changes.
export * from '../../../../libs/projections/src/analytics';
