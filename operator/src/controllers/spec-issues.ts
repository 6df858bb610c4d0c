// A spec's problems as one line for status, events and admission refusals: the first five as
// `path: message`, then how many more (a long list would crowd out the first, which is the one
// to fix). Shared by the StreamJob and DruidDatasource controllers and their webhooks.
export interface SpecIssue {
  path: string;
  message: string;
}

const SHOWN = 5;

export function describeIssues(issues: readonly SpecIssue[]): string {
  const shown = issues
    .slice(0, SHOWN)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return issues.length > SHOWN ? `${shown}; and ${issues.length - SHOWN} more` : shown;
}
