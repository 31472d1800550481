// The activity page: runs, newest first, one row per run with its devices
// and how each stands or ended; filters on job, device, who started it and
// status; "Load more" pages further back. A click on a row opens the run
// (its terminals replay the output kept on the devices), a device opens
// its own terminal.
import { api } from '../api.js';
import { h, empty, statusBadge, duration, formatTime, setTitle, toast } from '../ui.js';
import { navigate } from '../router.js';

// The status filter is on the outcome: a run is listed when one of its
// devices has it.
const statuses = [['', 'Any status'], ['Pending', 'Pending'], ['Running', 'Running'], ['Finished', 'Finished'], ['Error', 'Error'], ['Stopped', 'Stopped'], ['Killed', 'Killed']];
// The page's filters: its URL parameter, the API's, and what a person reads.
const filters = [['job', 'job', 'Job'], ['device', 'device', 'Device'], ['by', 'client', 'Started by']];
const pageSize = 50;
const set = (t) => t && !t.startsWith('0001-');

// mark is how one device of a run stands or ended: ✓, ✗ exit 3, ✗ Killed.
function mark(t) {
  const o = t.outcome || t.status;
  if (o === 'Finished') return t.exitCode === 0 ? '✓' : `✗ exit ${t.exitCode}`;
  if (o === 'Error') return t.signal ? `✗ Error (${t.signal})` : '✗ Error';
  if (o === 'Stopped' || o === 'Killed') return '✗ ' + o;
  return o;
}

// markClass colours a mark: a finished run that exited with another code
// than 0 failed.
function markClass(t) {
  const o = String(t.outcome || t.status).toLowerCase();
  return o === 'finished' && t.exitCode !== 0 ? 'error' : o;
}

export async function activityPage(main, _, params) {
  setTitle('Activity');
  const q = new URLSearchParams();
  for (const [p, k] of filters) if (params.get(p)) q.set(k, params.get(p));
  if (params.get('status')) q.set('outcome', params.get('status'));
  q.set('limit', params.get('limit') || String(pageSize));
  const filtered = filters.some(([p]) => params.get(p)) || !!params.get('status');

  // The filters are a form: Enter in a field or a new status applies them.
  const inputs = Object.fromEntries(filters.map(([p, , label]) => [p,
    h('input', { type: 'search', 'aria-label': label, placeholder: label, 'data-field': p, value: params.get(p) || '' })]));
  const status = h('select', { 'aria-label': 'Status', 'data-field': 'status', onchange: () => form.requestSubmit() },
    statuses.map(([s, label]) => h('option', { value: s, selected: s === (params.get('status') || '') ? 'selected' : null }, label)));
  const form = h('form.filters', {
    'data-form': 'activity-filters', role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      for (const [k, input] of Object.entries(inputs)) if (input.value.trim()) p.set(k, input.value.trim());
      if (status.value) p.set('status', status.value);
      navigate('/activity' + (p.toString() ? '?' + p : ''), { replace: true });
    },
  }, Object.values(inputs), status, h('button', { type: 'submit' }, 'Filter'),
  filtered ? h('a.button', { href: '/activity', 'data-clear-filters': '' }, 'Clear') : null);
  const body = h('div', { 'data-activity': '' });
  const more = h('button', { type: 'button', 'data-load-more': '', hidden: true, onclick: () => serial(loadMore) }, 'Load more');
  main.append(h('div.page-head', h('h1', 'Activity')), form, body, h('div.row.more', more));

  // shown is every run on the page, newest first; cursor is the API's
  // next after the last of them ('' when it is the oldest).
  let shown = [], cursor = '', timer = null, gone = false, last = '', failed = false;
  // One request at a time: a poll and a "Load more" must not interleave.
  let chain = Promise.resolve();
  const serial = (fn) => (chain = chain.then(fn, fn));

  const row = (r) => {
    const href = `/executions/${encodeURIComponent(r.id)}`;
    const end = set(r.finished) ? new Date(r.finished) : new Date();
    return h('tr', {
      'data-run': r.id, 'data-execution': r.id, 'data-outcome': r.outcome, tabindex: 0,
      onclick: (ev) => { if (!ev.target.closest('a')) navigate(href); },
      onkeydown: (ev) => { if (ev.key === 'Enter' && ev.target === ev.currentTarget) navigate(href); },
    },
    h('td', statusBadge(r.outcome)),
    h('td', h('a', { href }, r.job)),
    h('td.devices', (r.targets || []).map((t) => h('a.target', {
      href: `${href}?device=${encodeURIComponent(t.device)}`, 'data-device': t.device, 'data-status': t.status,
      'data-outcome': t.outcome || t.status, title: t.reason || null,
    }, t.device, ' ', h('span.mark.status-' + markClass(t), mark(t))))),
    h('td', r.client || '—'),
    h('td', h('time', { datetime: r.created, title: new Date(r.created).toLocaleString(), 'data-created': r.created }, formatTime(r.created))),
    h('td.num', set(r.started) ? duration(end - new Date(r.started)) : '—'));
  };

  const draw = () => {
    const now = JSON.stringify(shown) + cursor + (shown.some((r) => r.outcome === 'Running') ? Date.now() : ''); // running durations move on
    if (now === last) return; // unchanged: keep the focus and the hover
    last = now;
    more.hidden = !cursor;
    if (!shown.length) {
      body.replaceChildren(filtered
        ? empty('Nothing matches', 'No run matches these filters.', h('a.button', { href: '/activity' }, 'Show all'))
        : empty('Nothing has run yet', 'Run a job and it shows here, newest first.', h('a.button.primary', { href: '/jobs' }, 'Go to the jobs')));
      return;
    }
    body.replaceChildren(h('div.table-wrap', h('table.clickable', { 'data-runs': '' },
      h('thead', h('tr', ['Status', 'Job', 'Devices', 'Started by', 'When', 'Duration'].map((c) => h('th', c)))),
      h('tbody', shown.map(row)))));
  };

  const failure = (err) => {
    if (gone || err.status === 401) return;
    if (!failed) toast(err.message); // once, not at every poll
    failed = true;
    if (!shown.length) {
      last = '';
      body.replaceChildren(empty('Could not load the activity', err.message));
    }
  };

  // poll reads the newest page again. The runs it holds replace theirs;
  // the older ones shown stay below it, and the cursor with them: the
  // newest page is always a prefix of the list, so nothing is skipped.
  const poll = async () => {
    try {
      const page = await api('GET', '/runs?' + q);
      if (gone) return;
      const fresh = page.runs || [];
      const ids = new Set(fresh.map((r) => r.id));
      const rest = shown.filter((r) => !ids.has(r.id));
      shown = fresh.concat(rest);
      if (!rest.length) cursor = page.next || '';
      draw();
      failed = false;
    } catch (err) {
      failure(err);
    }
  };

  const loadMore = async () => {
    if (!cursor || gone) return;
    more.disabled = true;
    try {
      const p = new URLSearchParams(q);
      p.set('cursor', cursor);
      const page = await api('GET', '/runs?' + p);
      if (gone) return;
      const ids = new Set(shown.map((r) => r.id));
      shown = shown.concat((page.runs || []).filter((r) => !ids.has(r.id)));
      cursor = page.next || '';
      draw();
    } catch (err) {
      failure(err);
    } finally {
      more.disabled = false;
    }
  };

  const tick = async () => {
    await serial(poll);
    if (!gone) timer = setTimeout(tick, 5000);
  };
  await tick();
  return () => { gone = true; clearTimeout(timer); };
}
