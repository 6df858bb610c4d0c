// @ts-check
// A layered layout of the job graph (Sugiyama, small): a node's layer is its longest path from a
// source, so every edge points right; within a layer nodes are ordered by the mean position of
// their neighbours (barycenter), swept down and up a few times to cut crossings. Job graphs are
// tens of nodes, so no dummy nodes for long edges: such an edge is drawn as a curve across layers.
// Pure (no DOM): runtime/src/dashboard/dag-layout.test.ts tests it.

/**
 * @typedef {{ id: string }} LayoutNodeIn
 * @typedef {{ from: string, to: string }} LayoutEdgeIn
 * @typedef {{ id: string, layer: number, order: number, x: number, y: number }} LayoutNode
 * @typedef {{ width: number, height: number, nodes: LayoutNode[], edges: { from: string, to: string, path: string }[] }} Layout
 */

/**
 * @param {readonly LayoutNodeIn[]} nodes
 * @param {readonly LayoutEdgeIn[]} edges
 * @param {{ nodeWidth: number, nodeHeight: number, gapX: number, gapY: number }} size
 * @returns {Layout}
 */
export function layoutDag(nodes, edges, size) {
  const ids = nodes.map((n) => n.id);
  const known = new Set(ids);
  const usable = edges.filter((e) => known.has(e.from) && known.has(e.to) && e.from !== e.to);
  /** @type {Map<string, string[]>} */ const succ = new Map(ids.map((id) => [id, []]));
  /** @type {Map<string, string[]>} */ const pred = new Map(ids.map((id) => [id, []]));
  for (const e of usable) {
    succ.get(e.from)?.push(e.to);
    pred.get(e.to)?.push(e.from);
  }
  // Longest path layering in topological order (Kahn); nodes on a cycle (never in a valid job
  // graph) keep the layer they had when the order stalled, so the layout still terminates.
  /** @type {Map<string, number>} */ const layer = new Map(ids.map((id) => [id, 0]));
  const indegree = new Map(ids.map((id) => [id, pred.get(id)?.length ?? 0]));
  const queue = ids.filter((id) => indegree.get(id) === 0);
  while (queue.length > 0) {
    const id = /** @type {string} */ (queue.shift());
    for (const next of succ.get(id) ?? []) {
      layer.set(next, Math.max(layer.get(next) ?? 0, (layer.get(id) ?? 0) + 1));
      const left = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  const layerCount = Math.max(0, ...layer.values()) + 1;
  /** @type {string[][]} */ const layers = Array.from({ length: layerCount }, () => []);
  for (const id of ids) layers[layer.get(id) ?? 0].push(id);

  /** @type {Map<string, number>} */ const order = new Map();
  const renumber = () => layers.forEach((l) => l.forEach((id, i) => order.set(id, i)));
  renumber();
  /** @param {string[]} l @param {Map<string, string[]>} neighbours */
  const sortBy = (l, neighbours) => {
    const key = new Map(
      l.map((id) => {
        const ns = neighbours.get(id) ?? [];
        const mean =
          ns.length === 0 ? (order.get(id) ?? 0) : ns.reduce((s, n) => s + (order.get(n) ?? 0), 0) / ns.length;
        return [id, mean];
      }),
    );
    l.sort((a, b) => (key.get(a) ?? 0) - (key.get(b) ?? 0) || (order.get(a) ?? 0) - (order.get(b) ?? 0));
    l.forEach((id, i) => order.set(id, i));
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    for (let i = 1; i < layerCount; i++) sortBy(layers[i], pred);
    for (let i = layerCount - 2; i >= 0; i--) sortBy(layers[i], succ);
  }

  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const height = tallest * size.nodeHeight + (tallest - 1) * size.gapY;
  const width = layerCount * size.nodeWidth + (layerCount - 1) * size.gapX;
  /** @type {Map<string, LayoutNode>} */ const placed = new Map();
  layers.forEach((l, li) => {
    const used = l.length * size.nodeHeight + (l.length - 1) * size.gapY;
    const top = (height - used) / 2;
    l.forEach((id, oi) =>
      placed.set(id, {
        id,
        layer: li,
        order: oi,
        x: li * (size.nodeWidth + size.gapX),
        y: top + oi * (size.nodeHeight + size.gapY),
      }),
    );
  });
  const paths = usable.map((e) => {
    const a = /** @type {LayoutNode} */ (placed.get(e.from));
    const b = /** @type {LayoutNode} */ (placed.get(e.to));
    const x1 = a.x + size.nodeWidth;
    const y1 = a.y + size.nodeHeight / 2;
    const x2 = b.x;
    const y2 = b.y + size.nodeHeight / 2;
    const bend = Math.max(20, (x2 - x1) / 2);
    return { from: e.from, to: e.to, path: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` };
  });
  return { width, height, nodes: ids.map((id) => /** @type {LayoutNode} */ (placed.get(id))), edges: paths };
}
