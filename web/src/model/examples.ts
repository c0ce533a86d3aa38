// The example scenarios of scenarios/, bundled as text (never evaluated: the parser reads them
// as YAML data). The seed program comes first: a Linux seed scenario when the tree has one, else
// the bare machine's user write; other kernels' seeds follow.

const files = import.meta.glob('../../../scenarios/*.{yaml,yml,json}', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

export interface Example {
  file: string;
  text: string;
}

function rank(name: string): number {
  if (/seed/.test(name) && /linux/.test(name)) return 0;
  if (name === 'bare-user-write.yaml') return 1;
  if (/seed/.test(name)) return 2;
  if (/^linux/.test(name)) return 3;
  if (/^xnu/.test(name)) return 4;
  return 5;
}

export const EXAMPLES: Example[] = Object.entries(files)
  .map(([path, text]) => ({ file: `scenarios/${path.split('/').pop()!}`, text }))
  .sort((a, b) => rank(a.file.slice(10)) - rank(b.file.slice(10)) || a.file.localeCompare(b.file));

export const SEED: Example = EXAMPLES[0] ?? { file: 'scenarios/empty.yaml', text: 'name: empty\nsteps: []\n' };
