import { describe, expect, it } from 'vitest';
// @ts-expect-error the page's plain JavaScript module (typed by JSDoc, not part of the TS project)
import { layoutDag } from './page/dag-layout.js';

const SIZE = { nodeWidth: 100, nodeHeight: 40, gapX: 20, gapY: 10 };
interface Placed {
  id: string;
  layer: number;
  order: number;
  x: number;
  y: number;
}
const byId = (nodes: Placed[]) => new Map(nodes.map((n) => [n.id, n]));

describe('layoutDag', () => {
  it('puts every node one layer right of its furthest predecessor, so every edge points right', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id }));
    const edges = [
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'a', to: 'c' },
      { from: 'c', to: 'd' },
      { from: 'e', to: 'd' },
    ];
    const layout = layoutDag(nodes, edges, SIZE);
    const p = byId(layout.nodes);
    expect([...p.values()].map((n) => [n.id, n.layer])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
      ['d', 3],
      ['e', 0],
    ]);
    for (const e of edges) expect(p.get(e.to)!.x).toBeGreaterThan(p.get(e.from)!.x);
    expect(layout.edges).toHaveLength(edges.length);
    expect(layout.width).toBe(4 * 100 + 3 * 20);
    expect(layout.height).toBe(2 * 40 + 10);
  });

  it('orders a layer by its neighbours so two parallel chains do not cross', () => {
    const nodes = ['a1', 'b1', 'b2', 'a2'].map((id) => ({ id }));
    const edges = [
      { from: 'a1', to: 'a2' },
      { from: 'b1', to: 'b2' },
    ];
    const p = byId(layoutDag(nodes, edges, SIZE).nodes);
    expect(Math.sign(p.get('a1')!.y - p.get('b1')!.y)).toBe(Math.sign(p.get('a2')!.y - p.get('b2')!.y));
  });

  it('places no two nodes on each other and terminates on a cycle or an unknown endpoint', () => {
    const nodes = ['x', 'y', 'z', 'w'].map((id) => ({ id }));
    const edges = [
      { from: 'x', to: 'y' },
      { from: 'y', to: 'x' },
      { from: 'z', to: 'nowhere' },
      { from: 'w', to: 'w' },
    ];
    const layout = layoutDag(nodes, edges, SIZE);
    const spots = new Set(layout.nodes.map((n: Placed) => `${n.x},${n.y}`));
    expect(spots.size).toBe(4);
    expect(layout.edges).toHaveLength(2);
  });
});
