// @ts-check
// The page: `/` lists the jobs, `/jobs/<ns>/<name>` shows one (job-view.js). It polls the JSON
// API (model.ts) every POLL_MS and only reads: one request per poll, never one per row.
// Every URL is relative to BASE, the page's root however it is reached: directly, or under a
// prefix such as the Kubernetes API server's service proxy (…/services/<svc>:dashboard/proxy/).
/* global document, window, fetch, location, setTimeout */
import { count, el, fillRows, duration, rate } from './format.js';
import { JobView } from './job-view.js';

const POLL_MS = 3000;
const JOB_PATH = /jobs\/([^/]+)\/([^/]+)$/;
const BASE = location.pathname.replace(JOB_PATH, '').replace(/[^/]*$/, '');
const API_VERSION = 1;

/** @param {string} path */
async function getJson(path) {
  const res = await fetch(BASE + path, { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${body.code ?? res.status}: ${body.message ?? res.statusText}`);
  if (body.apiVersion !== API_VERSION)
    throw new Error(`API version ${body.apiVersion}, this page reads ${API_VERSION}`);
  return body;
}

/** @param {string} text @param {boolean} [failed] */
function setStatus(text, failed = false) {
  const s = /** @type {HTMLElement} */ (document.getElementById('status'));
  s.textContent = text;
  s.className = failed ? 'failed' : '';
}

/** @param {(string | [string, string])[]} parts */
function setCrumbs(parts) {
  const nav = /** @type {HTMLElement} */ (document.getElementById('crumbs'));
  nav.replaceChildren(
    ...parts.map((p) => (typeof p === 'string' ? el('span', {}, [p]) : el('a', { href: p[1] }, [p[0]]))),
  );
}

const LIST_COLUMNS = [
  'Namespace',
  'Job',
  'Phase',
  'Replicas',
  'Input',
  'Output',
  'Lag',
  'Last checkpoint',
  'Restarts',
  'Recommendation',
];

function listView() {
  setCrumbs(['Jobs']);
  const filter = /** @type {HTMLInputElement} */ (
    el('input', {
      type: 'search',
      id: 'filter',
      placeholder: 'Filter by namespace, name or phase',
      'aria-label': 'Filter jobs',
    })
  );
  const body = /** @type {HTMLTableSectionElement} */ (el('tbody'));
  const table = el('table', { id: 'jobs' }, [
    el('thead', {}, [
      el(
        'tr',
        {},
        LIST_COLUMNS.map((c) => el('th', {}, [c])),
      ),
    ]),
    body,
  ]);
  const shown = el('p', { class: 'muted', id: 'shown' });
  /** @type {any[]} */ let jobs = [];
  const render = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const rows = jobs.filter((j) =>
      words.every((w) => `${j.namespace} ${j.name} ${j.phase}`.toLowerCase().includes(w)),
    );
    shown.textContent = `${rows.length} of ${jobs.length} jobs`;
    fillRows(
      body,
      rows.map((j) => [
        j.namespace,
        el('a', { href: BASE + String(j.url).replace(/^\//, '') }, [j.name]),
        el('span', { class: `phase phase-${String(j.phase).toLowerCase()}` }, [
          j.phase + (j.ready ? ` (${j.ready.reason})` : ''),
        ]),
        String(j.replicas),
        rate(j.inputRate),
        rate(j.outputRate),
        count(j.lag),
        j.lastCheckpointAgeSeconds === undefined ? '–' : `${duration(j.lastCheckpointAgeSeconds * 1000)} ago`,
        String(j.restarts),
        j.recommendedReplicas === undefined ? '–' : String(j.recommendedReplicas),
      ]),
      LIST_COLUMNS.length,
      jobs.length === 0 ? 'No jobs.' : 'No job matches the filter.',
    );
  };
  filter.addEventListener('input', render);
  /** @type {HTMLElement} */ (document.getElementById('main')).replaceChildren(
    el('section', {}, [filter, shown, table]),
  );
  return async () => {
    jobs = (await getJson('api/v1/jobs')).jobs;
    render();
  };
}

function start() {
  const m = JOB_PATH.exec(location.pathname);
  /** @type {() => Promise<void>} */ let poll;
  if (m === null) poll = listView();
  else {
    const namespace = decodeURIComponent(m[1]);
    const name = decodeURIComponent(m[2]);
    setCrumbs([['Jobs', BASE], `${namespace} / ${name}`]);
    document.title = `${name} · Tributary`;
    const view = new JobView(/** @type {HTMLElement} */ (document.getElementById('main')));
    poll = async () => view.update(await getJson(`api/v1/jobs/${m[1]}/${m[2]}`));
  }
  const loop = async () => {
    try {
      await poll();
      setStatus(`updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      setStatus(`cannot read the API: ${e instanceof Error ? e.message : String(e)}`, true);
    }
    setTimeout(() => void loop(), POLL_MS);
  };
  void loop();
}

window.addEventListener('DOMContentLoaded', start);
