// @ts-check
// One job's page: summary, the DAG with each node's numbers, charts of the sampled series, and
// the tables (keyed state per stateful step, checkpoints, exceptions, Events, rescales). Built
// once, then updated in place on every poll: the DAG is laid out again only when the graph
// changed, charts get new data.
/* global document, window */
import { layoutDag } from './dag-layout.js';
import { bytes, count, duration, el, fillRows, percent, rate, time } from './format.js';
import { STATE_COLUMNS, stateLine, stateRows } from './keyed-state.js';

const SVG = 'http://www.w3.org/2000/svg';
const SIZE = { nodeWidth: 190, nodeHeight: 98, gapX: 60, gapY: 22 };

/** @param {string} tag @param {Record<string, string | number>} attrs @param {(Node | string)[]} [children] */
function svg(tag, attrs, children = []) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

/** @param {string} title @param {string[]} columns */
function tableSection(title, columns) {
  const body = /** @type {HTMLTableSectionElement} */ (el('tbody'));
  const id = title.toLowerCase().replace(/[^a-z]+/g, '-');
  const section = el('section', { id }, [
    el('h2', {}, [title]),
    el('table', {}, [
      el('thead', {}, [
        el(
          'tr',
          {},
          columns.map((c) => el('th', {}, [c])),
        ),
      ]),
      body,
    ]),
  ]);
  return { section, body, columns: columns.length };
}

export class JobView {
  /** @param {HTMLElement} root */
  constructor(root) {
    this.summary = el('dl', { id: 'summary' });
    this.dag = /** @type {SVGSVGElement} */ (svg('svg', { id: 'dag', role: 'img', 'aria-label': 'job graph' }));
    this.graphKey = '';
    /** @type {Map<string, SVGTextElement[]>} */ this.nodeLines = new Map();
    /** Per node: its busy bar, then its backpressured bar (a strip under the node, widths by share). */
    /** @type {Map<string, SVGRectElement[]>} */ this.nodeBars = new Map();
    this.keyedState = tableSection('Keyed state', STATE_COLUMNS);
    this.chartsBox = el('div', { class: 'charts' });
    /** @type {Map<string, any>} */ this.charts = new Map();
    this.checkpoints = tableSection('Checkpoints and savepoints', [
      'Id',
      'Kind',
      'Completed',
      'Duration',
      'Written',
      'Referenced',
      'Path',
    ]);
    this.exceptions = tableSection('Exceptions', ['Time', 'Slot', 'Message']);
    this.events = tableSection('Events', ['Last seen', 'Type', 'Reason', 'Count', 'Message']);
    this.rescales = tableSection('Rescales', ['Began', 'From', 'To', 'Cause', 'Mode', 'Completed']);
    root.replaceChildren(
      el('section', {}, [this.summary]),
      el('section', { id: 'graph' }, [el('h2', {}, ['Graph']), el('div', { class: 'dag-box' }, [this.dag])]),
      this.keyedState.section,
      el('section', {}, [el('h2', {}, ['Over the last minutes']), this.chartsBox]),
      this.checkpoints.section,
      this.exceptions.section,
      this.events.section,
      this.rescales.section,
    );
  }

  /** @param {any} d DashboardJobDetail */
  update(d) {
    const s = d.summary;
    const items = [
      ['Phase', s.phase + (s.ready ? ` (Ready ${s.ready.status}: ${s.ready.reason})` : '')],
      [
        'Replicas',
        String(s.replicas) + (s.recommendedReplicas === undefined ? '' : ` (recommended ${s.recommendedReplicas})`),
      ],
      ['Input', rate(s.inputRate)],
      ['Output', rate(s.outputRate)],
      ['Lag', count(s.lag)],
      [
        'Last checkpoint',
        s.lastCheckpointAgeSeconds === undefined ? '–' : `${duration(s.lastCheckpointAgeSeconds * 1000)} ago`,
      ],
      ['Restarts', String(s.restarts)],
    ];
    this.summary.replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, [k]), el('dd', { 'data-field': k }, [v])]));
    this.drawGraph(d.graph);
    fillRows(this.keyedState.body, stateRows(d.graph.nodes), this.keyedState.columns, 'No step reports keyed state.');
    this.drawCharts(d.series);
    fillRows(
      this.checkpoints.body,
      d.checkpoints.map((/** @type {any} */ c) => [
        String(c.id),
        c.kind,
        time(c.completedAt),
        duration(c.durationMs),
        bytes(c.bytes),
        bytes(c.fullBytes ?? c.bytes),
        el('code', {}, [c.path]),
      ]),
      this.checkpoints.columns,
      'No completed checkpoint yet.',
    );
    fillRows(
      this.exceptions.body,
      d.exceptions.map((/** @type {any} */ x) => [time(x.at), String(x.slot), el('pre', {}, [x.message])]),
      this.exceptions.columns,
      'No exception.',
    );
    fillRows(
      this.events.body,
      d.events.map((/** @type {any} */ e) => [time(e.lastSeen), e.type, e.reason, String(e.count), e.message]),
      this.events.columns,
      'No event.',
    );
    fillRows(
      this.rescales.body,
      d.rescales.map((/** @type {any} */ r) => [
        time(r.at),
        String(r.from),
        String(r.to),
        r.cause,
        r.mode,
        r.completedAt ? time(r.completedAt) : 'running',
      ]),
      this.rescales.columns,
      'No rescale.',
    );
  }

  /** @param {{ nodes: any[], edges: any[] }} graph */
  drawGraph(graph) {
    const key = JSON.stringify([graph.nodes.map((n) => n.id), graph.edges]);
    if (key !== this.graphKey) {
      this.graphKey = key;
      const layout = layoutDag(graph.nodes, graph.edges, SIZE);
      const pad = 8;
      this.dag.setAttribute('viewBox', `${-pad} ${-pad} ${layout.width + 2 * pad} ${layout.height + 2 * pad}`);
      this.dag.setAttribute('width', String(layout.width + 2 * pad));
      this.dag.setAttribute('height', String(layout.height + 2 * pad));
      const marker = svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
        [svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' })],
      );
      const edges = layout.edges.map((e, i) => {
        const ex = graph.edges[i]?.exchange;
        return svg(
          'path',
          { d: e.path, class: `edge${ex ? ` edge-${ex}` : ''}`, 'marker-end': 'url(#arrow)' },
          ex ? [svg('title', {}, [ex])] : [],
        );
      });
      this.nodeLines = new Map();
      this.nodeBars = new Map();
      const roles = new Map(graph.nodes.map((n) => [n.id, n]));
      const nodes = layout.nodes.map((p) => {
        const n = roles.get(p.id);
        const lines = [0, 1, 2, 3].map(
          (k) => /** @type {SVGTextElement} */ (svg('text', { x: 10, y: 40 + k * 15, class: 'metric' })),
        );
        this.nodeLines.set(p.id, lines);
        const bar = (/** @type {string} */ cls) =>
          /** @type {SVGRectElement} */ (svg('rect', { class: cls, y: SIZE.nodeHeight - 5, height: 4, width: 0 }));
        const bars = [bar('busy-bar'), bar('bp-bar')];
        this.nodeBars.set(p.id, bars);
        return svg('g', { class: `node node-${n.role}`, transform: `translate(${p.x},${p.y})`, 'data-node': p.id }, [
          svg('rect', { width: SIZE.nodeWidth, height: SIZE.nodeHeight, rx: 6 }),
          ...bars,
          svg('text', { x: 10, y: 18, class: 'name' }, [p.id]),
          svg('text', { x: SIZE.nodeWidth - 10, y: 18, class: 'kind', 'text-anchor': 'end' }, [n.kind]),
          ...lines,
        ]);
      });
      this.dag.replaceChildren(svg('defs', {}, [marker]), ...edges, ...nodes);
    }
    for (const n of graph.nodes) {
      const lines = this.nodeLines.get(n.id);
      if (lines === undefined) continue;
      lines[0].textContent = `in ${rate(n.inRate)} · out ${rate(n.outRate)}`;
      const scope = n.busyScope === 'slot' ? 'slot ' : '';
      lines[1].textContent = `${scope}busy ${percent(n.busy)} · ${scope}bp ${percent(n.backpressured)}`;
      lines[2].textContent = `watermark lag ${duration(n.watermarkLagMs)}`;
      // A stateful step's keys and state size; an empty line elsewhere.
      lines[3].textContent = stateLine(n.keyedState);
      // Flink's colouring, as bars: the busy share from the left, the backpressured share after it.
      const [busyBar, bpBar] = this.nodeBars.get(n.id) ?? [];
      const inner = SIZE.nodeWidth - 12;
      const busyW = Math.min(1, n.busy ?? 0) * inner;
      const bpW = Math.min(1 - Math.min(1, n.busy ?? 0), n.backpressured ?? 0) * inner;
      busyBar?.setAttribute('x', '6');
      busyBar?.setAttribute('width', busyW.toFixed(1));
      bpBar?.setAttribute('x', (6 + busyW).toFixed(1));
      bpBar?.setAttribute('width', bpW.toFixed(1));
    }
  }

  /** @param {any} s DashboardSeries */
  drawCharts(s) {
    const t = s.t.map((/** @type {number} */ ms) => ms / 1000);
    const lagNames = Object.keys(s.lag).sort();
    this.chart(
      'throughput',
      'Throughput (records/s)',
      [
        ['input', s.inputRate],
        ['output', s.outputRate],
      ],
      t,
    );
    this.chart(
      `lag:${lagNames.join(',')}`,
      lagNames.length > 0 ? 'Lag per source (records)' : 'Lag per source: no Kafka source',
      lagNames.map((n) => [n, s.lag[n]]),
      t,
    );
    this.chart('ckpt-duration', 'Checkpoint duration (ms)', [['duration', s.checkpointDurationMs]], t, true);
    this.chart('ckpt-size', 'Checkpoint size (bytes)', [['size', s.checkpointBytes]], t, true);
  }

  /**
   * @param {string} key identity of the chart's series set (a new set rebuilds the chart)
   * @param {string} title @param {[string, (number | null)[]][]} series @param {number[]} t @param {boolean} [points]
   */
  chart(key, title, series, t, points = false) {
    const id = key.split(':')[0];
    const existing = this.charts.get(id);
    const data = [t, ...series.map(([, v]) => v)];
    if (existing !== undefined && existing.key === key) {
      existing.plot.setData(data);
      return;
    }
    existing?.plot.destroy();
    const box = existing?.box ?? el('figure', { class: 'chart', id: `chart-${id}` });
    if (existing === undefined) this.chartsBox.append(box);
    const colors = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2'];
    // @ts-expect-error uPlot is the global the classic script defines
    const plot = new window.uPlot(
      {
        title,
        width: 420,
        height: 180,
        series: [
          {},
          ...series.map(([label], i) => ({
            label,
            stroke: colors[i % colors.length],
            width: 1.5,
            spanGaps: !points,
            points: { show: points, size: 6 },
          })),
        ],
        axes: [{}, { size: 60 }],
      },
      data,
      box,
    );
    this.charts.set(id, { key, plot, box });
  }
}
