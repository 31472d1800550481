// The activity page: recent executions, newest first; a click opens one
// (its terminal replays the output kept on the device).
import { api, list } from '../api.js';
import { h, empty, statusBadge, duration, runDuration, formatTime, setTitle, toast } from '../ui.js';
import { navigate } from '../router.js';

// The filter is on the stored status: a stopped or killed run is in Error.
const statuses = [['', 'Any status'], ['Pending', 'Pending'], ['Running', 'Running'], ['Finished', 'Finished'], ['Error', 'Error, Stopped, Killed']];

export async function activityPage(main, _, params) {
  setTitle('Activity');
  const q = new URLSearchParams();
  for (const k of ['job', 'device', 'status']) if (params.get(k)) q.set(k, params.get(k));
  q.set('limit', params.get('limit') || '100');
  const filters = ['job', 'device', 'status'].filter((k) => params.get(k));
  const status = h('select', { 'aria-label': 'Status', 'data-field': 'status', onchange: () => {
    const p = new URLSearchParams(location.search);
    if (status.value) p.set('status', status.value); else p.delete('status');
    navigate('/activity' + (p.toString() ? '?' + p : ''), { replace: true });
  } }, statuses.map(([s, label]) => h('option', { value: s, selected: s === (params.get('status') || '') ? 'selected' : null }, label)));
  const body = h('div', { 'data-activity': '' });
  main.append(h('div.page-head', h('h1', 'Activity'),
    filters.filter((k) => k !== 'status').map((k) => h('span.chip', `${k}: ${params.get(k)} `, h('a', { href: '/activity', 'aria-label': 'Clear filter' }, '×'))),
    status), body);
  let timer = null, gone = false, last = '', failed = false;

  const draw = (execs) => {
    const now = JSON.stringify(execs) + (execs.some((e) => e.status === 'Running') ? Date.now() : ''); // running durations move on
    if (now === last) return; // unchanged: keep the focus and the hover
    last = now;
    if (!execs.length) {
      body.replaceChildren(filters.length
        ? empty('Nothing matches', 'No execution matches these filters.', h('a.button', { href: '/activity' }, 'Show all'))
        : empty('Nothing has run yet', 'Run a job and it shows here, newest first.', h('a.button.primary', { href: '/jobs' }, 'Go to the jobs')));
      return;
    }
    body.replaceChildren(h('div.table-wrap', h('table.clickable',
      h('thead', h('tr', ['Status', 'Job', 'Device', 'Started by', 'Started', 'Duration', 'Exit code'].map((c) => h('th', c)))),
      h('tbody', execs.map((e) => {
        const href = `/executions/${encodeURIComponent(e.id)}?device=${encodeURIComponent(e.device)}`;
        const d = runDuration(e);
        const final = e.status === 'Finished' || e.status === 'Error';
        // The outcome (the API's): Stopped or Killed for a run ended on
        // request, otherwise the status.
        const outcome = e.outcome || e.status;
        return h('tr', {
          'data-execution': e.id, 'data-device': e.device, 'data-status': e.status, 'data-outcome': outcome, tabindex: 0,
          onclick: (ev) => { if (!ev.target.closest('a')) navigate(href); },
          onkeydown: (ev) => { if (ev.key === 'Enter') navigate(href); },
        },
        h('td', statusBadge(outcome)),
        h('td', h('a', { href }, e.job)),
        h('td', e.device || '—'),
        h('td', e.client || '—'),
        h('td', formatTime(e.started && !e.started.startsWith('0001-') ? e.started : e.created)),
        h('td.num', d === null ? '—' : duration(d)),
        h('td.num', { title: e.reason || null }, final ? String(e.exitCode) : '—', e.signal ? h('small.muted', ` (${e.signal})`) : null));
      })))));
  };

  const poll = async () => {
    try {
      const execs = list(await api('GET', '/executions?' + q), 'executions');
      if (gone) return;
      draw(execs);
      failed = false;
    } catch (err) {
      if (gone || err.status === 401) return;
      if (!failed) toast(err.message); // once, not at every poll
      failed = true;
      last = '';
      body.replaceChildren(empty('Could not load the activity', err.message));
    }
    if (!gone) timer = setTimeout(poll, 5000);
  };
  await poll();
  return () => { gone = true; clearTimeout(timer); };
}
