// The jobs page: cards of the workspace's jobs with a live search, the
// YAML editor (?edit=NAME, ?new), the run dialog and the history of the job
// file (?history) with view and roll back.
import { api } from '../api.js';
import { h, toast, guard, empty, confirmDialog, setTitle, modal, formatTime } from '../ui.js';
import { navigate } from '../router.js';
import { yamlEditor } from './editor.js';
import { runDialog } from './run.js';

// template is what "New job" appends to the file.
export function newJobTemplate(existing) {
  let name = 'new-job', i = 2;
  while (existing.includes(name)) name = `new-job-${i++}`;
  return `${name}:
  description: What this job does
  where: all
  script: |
    echo "Hello from $(hostname)"
`;
}

function whereText(job) {
  switch (job.where) {
    case 'all': return 'all devices';
    case 'any': return 'any online device';
    case 'custom': return (job.whereCustom || []).join(', ') || 'custom';
    default: return 'where started (choose when running)';
  }
}

// resultText says how the targets of a scheduled run stand: "Finished",
// or "2 Finished, 1 Error" for several.
const outcomes = ['Pending', 'Running', 'Finished', 'Error', 'Stopped', 'Killed'];
function resultText(results) {
  const counts = outcomes.filter((o) => results && results[o] > 0).map((o) => [o, results[o]]);
  const total = counts.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return 'started';
  if (total === 1) return counts[0][0];
  return counts.map(([o, c]) => `${c} ${o}`).join(', ');
}

// scheduleFacts are a scheduled job's next run and last run with its
// result (GET /schedules), for its card.
function scheduleFacts(s) {
  if (!s) return null;
  const last = s.last;
  let lastView = h('span.muted', 'not yet');
  if (last) {
    const when = formatTime(last.at);
    if (last.state === 'started') {
      // One colour for the badge: the one outcome, or Error if any failed.
      const seen = outcomes.filter((o) => s.results && s.results[o] > 0);
      const status = seen.length === 1 ? seen[0] : (seen.includes('Error') ? 'Error' : 'Running');
      lastView = h('a', { href: '/executions/' + encodeURIComponent(last.execution) }, when, ' ',
        h('span.badge.status-' + status.toLowerCase(), { 'data-status': status }, resultText(s.results)));
    } else if (last.state === 'claimed') {
      lastView = h('span', when, ' ', h('span.badge', 'starting'));
    } else {
      lastView = h('span', { title: last.reason || '' }, when, ' ', h('span.badge.status-error', last.state), last.reason ? h('small.muted', ' ' + last.reason) : null);
    }
  }
  return [
    h('dt', 'Next run'), h('dd', { 'data-next-run': s.next || '' }, s.next ? formatTime(s.next) : '—'),
    h('dt', 'Last run'), h('dd', { 'data-last-run': last ? last.state : 'none' }, lastView),
  ];
}

export async function jobsPage(main, _, params) {
  if (params.has('edit') || params.has('new')) return editorView(main, params);
  if (params.has('history')) return historyView(main);
  setTitle('Jobs');
  // The schedules are extra: a server without them still lists the jobs.
  const [data, sched] = await Promise.all([api('GET', '/jobs'), api('GET', '/schedules').catch(() => null)]);
  const jobs = data.jobs || [];
  const schedules = new Map(((sched && sched.schedules) || []).map((s) => [s.job, s]));
  const search = h('input.search', { type: 'search', placeholder: 'Search jobs', 'aria-label': 'Search jobs', 'data-field': 'search', value: params.get('q') || '' });
  const grid = h('div.cards', { 'data-jobs': '' });
  const none = h('p.muted.hidden', { 'data-no-match': '' }, 'No job matches your search.');
  main.append(
    h('div.page-head', h('h1', 'Jobs'), search,
      h('a.button', { href: '/jobs?history', 'data-history': '' }, 'History'),
      h('a.button.primary', { href: '/jobs?new', 'data-new-job': '' }, 'New job')),
  );
  if (!jobs.length) {
    search.remove();
    main.append(empty('No jobs yet', 'A job is a script with a name that runs on your devices. Write the first one in the editor.',
      h('a.button.primary', { href: '/jobs?new' }, 'Write a job')));
    return;
  }
  for (const job of jobs) {
    const hay = [job.name, job.description, job.script, job.where, (job.whereCustom || []).join(' ')].join('\n').toLowerCase();
    grid.append(h('article.card.job', { 'data-job': job.name, 'data-search': hay },
      h('header', h('h2', job.name), job.every ? h('span.badge', { title: 'Schedule', 'data-schedule': job.every }, 'every ' + job.every) : null),
      h('p.desc', job.description || h('span.muted', 'No description.')),
      h('dl.facts.small', h('dt', 'Where'), h('dd', whereText(job)), job.every ? [h('dt', 'Schedule'), h('dd', 'every ' + job.every)] : null,
        scheduleFacts(schedules.get(job.name))),
      h('div.row',
        h('button.primary.small', { type: 'button', 'data-run': job.name, onclick: () => runDialog(job) }, '▶ Run'),
        h('a.button.small', { href: '/jobs?edit=' + encodeURIComponent(job.name), 'data-edit': job.name }, 'Edit'),
        h('a.button.small', { href: '/activity?job=' + encodeURIComponent(job.name) }, 'Activity'),
        h('button.small.danger-text', {
          type: 'button', 'data-delete': job.name,
          onclick: async () => {
            if (!await confirmDialog(`Delete ${job.name}?`, `The job ${job.name} is removed from the workspace's job file. Past runs stay in the activity.`)) return;
            await guard(async () => {
              await api('DELETE', '/jobs/' + encodeURIComponent(job.name));
              toast(`Deleted ${job.name}.`, 'ok');
              navigate('/jobs', { replace: true });
            });
          },
        }, 'Delete'))));
  }
  const filter = () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    for (const card of grid.children) {
      const hit = !q || q.split(/\s+/).every((w) => card.dataset.search.includes(w));
      card.hidden = !hit;
      if (hit) shown++;
    }
    none.classList.toggle('hidden', shown > 0);
  };
  search.addEventListener('input', filter);
  main.append(grid, none);
  filter();
  search.focus();
}

async function editorView(main, params) {
  const data = await api('GET', '/jobs');
  let version = data.version;
  const jobs = data.jobs || [];
  const editName = params.get('edit');
  let source = data.source || '';
  let line = 1;
  if (params.has('new')) {
    setTitle('New job');
    const tpl = newJobTemplate(jobs.map((j) => j.name));
    if (source && !source.endsWith('\n')) source += '\n';
    if (source.trim()) source += '\n';
    line = source.split('\n').length;
    source += tpl;
  } else {
    setTitle('Edit ' + editName);
    const job = jobs.find((j) => j.name === editName);
    if (job) line = job.line || 1;
    else if (editName) toast(`There is no job ${editName}; showing the whole file.`, 'info');
  }
  const ed = yamlEditor(source);
  const status = h('span.muted', { 'data-editor-status': '' });
  const save = h('button.primary', { type: 'submit', 'data-save': '' }, 'Save');
  const form = h('form.editor-page', {
    'data-form': 'editor',
    onsubmit: async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      status.textContent = 'Saving…';
      const put = (prune) => api('PUT', '/jobs' + (prune ? '?prune=true' : ''), ed.value, { headers: { 'If-Match': String(version) } });
      try {
        let r;
        try {
          r = await put(false);
        } catch (err) {
          // The file lacks jobs of the set: delete them only when asked to.
          if (!err.removed || !err.removed.length) throw err;
          const n = err.removed.length;
          if (!await confirmDialog(`Delete ${n} job${n > 1 ? 's' : ''}?`,
            `The file no longer defines ${err.removed.join(', ')}. Saving it deletes ${n > 1 ? 'them' : 'it'}; the history keeps every version, so a roll back brings ${n > 1 ? 'them' : 'it'} back.`, 'Delete and save')) {
            status.textContent = 'Not saved.';
            return;
          }
          r = await put(true);
        }
        version = r.version;
        if (r.warnings && r.warnings.length) {
          // Saved, but probably not as meant: show where, and stay.
          ed.setErrors(r.warnings);
          status.textContent = `Saved, with ${r.warnings.length} warning${r.warnings.length > 1 ? 's' : ''}: see the marked lines.`;
          toast('Saved, but the file has something that looks like a mistake: see the marked lines.', 'info');
          return;
        }
        ed.setErrors([]);
        toast('Saved the jobs.', 'ok');
        navigate('/jobs', { replace: true });
      } catch (err) {
        status.textContent = '';
        if (err.details && err.details.length) {
          ed.setErrors(err.details);
          status.textContent = `${err.details.length} problem${err.details.length > 1 ? 's' : ''}; fix and save again.`;
          toast('The job file has problems: see the marked lines.');
        } else {
          toast(err.message);
        }
      } finally {
        save.disabled = false;
      }
    },
  },
  h('div.page-head', h('h1', params.has('new') ? 'New job' : editName ? `Edit ${editName}` : 'Edit jobs'),
    h('span.muted', 'The workspace’s whole job file (YAML).')),
  ed.element,
  ed.problems,
  h('div.row', h('a.button', { href: '/jobs' }, 'Cancel'), save, status));
  main.append(form);
  ed.focusLine(line);
  // Ctrl/Cmd-S saves.
  form.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 's') { ev.preventDefault(); form.requestSubmit(); }
  });
}

// historyView lists the kept versions of the job file, newest first, each
// to view or to make current again (a new version, so nothing is lost).
async function historyView(main) {
  setTitle('Job history');
  const data = await api('GET', '/jobs/versions');
  const versions = data.versions || [];
  main.append(h('div.page-head', h('h1', 'Job history'),
    h('span.muted', `Every save of the job file; the last ${data.kept} are kept.`),
    h('a.button', { href: '/jobs' }, 'Back to the jobs')));
  if (!versions.length) {
    main.append(empty('No versions yet', 'Each save of the job file is kept here, to compare and to roll back to.'));
    return;
  }
  const current = versions[0].version;
  const view = (v) => guard(async () => {
    const r = await api('GET', '/jobs/versions/' + v.version);
    modal(`Version ${v.version}`, h('div',
      h('p.muted', `Saved ${formatTime(v.saved)}${v.by ? ' by ' + v.by : ''}.`),
      h('pre.source', { 'data-version-source': v.version }, r.source || '(empty)')), { wide: true });
  });
  const rollback = async (v) => {
    if (!await confirmDialog(`Roll back to version ${v.version}?`,
      `The job file of version ${v.version} becomes the current one, saved as a new version; jobs added since are removed. Version ${current} stays in the history.`, 'Roll back')) return;
    await guard(async () => {
      const r = await api('POST', '/jobs/rollback', { version: v.version }, { headers: { 'If-Match': String(current) } });
      toast(`Rolled back to version ${v.version} (now version ${r.version}).`, 'ok');
      navigate('/jobs', { replace: true });
    });
  };
  main.append(h('div.table-wrap', h('table', { 'data-versions': '' },
    h('thead', h('tr', ['Version', 'Saved', 'By', 'Jobs', 'Note', ''].map((c) => h('th', c)))),
    h('tbody', versions.map((v) => h('tr', { 'data-version': v.version },
      h('td', String(v.version), v.version === current ? [' ', h('span.badge', { 'data-current': '' }, 'current')] : null),
      h('td', formatTime(v.saved)),
      h('td', v.by || '—'),
      h('td.num', v.jobs < 0 ? '?' : String(v.jobs)),
      h('td', v.note || h('span.muted', '—')),
      h('td', h('div.row.tight',
        h('button.small', { type: 'button', 'data-view-version': v.version, onclick: () => view(v) }, 'View'),
        v.version === current ? null
          : h('button.small', { type: 'button', 'data-rollback': v.version, onclick: () => rollback(v) }, 'Roll back')))))))));
}
