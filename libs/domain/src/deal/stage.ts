export const stages = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
export type Stage = (typeof stages)[number];

export const openStages = ['lead', 'qualified', 'proposal', 'negotiation'] as const satisfies readonly Stage[];
export type OpenStage = (typeof openStages)[number];
export type ClosedStage = Exclude<Stage, OpenStage>;

export function isOpen(stage: Stage): stage is OpenStage {
  return (openStages as readonly Stage[]).includes(stage);
}
