// The execution page: one live terminal per device the execution runs on
// (a grid on wide screens, tabs on narrow ones), with Stop and Kill, and
// each device's status, exit code and duration.
import { api, list } from '../api.js';
import { h, guard, toast, empty, confirmDialog, statusBadge, duration, runDuration, formatTime, setTitle } from '../ui.js';
import { TerminalView } from '../terminal.js';
import { findBar } from '../find.js';
import { logPanel } from '../logpanel.js';

// touch: on a phone, focusing the terminal pops up the on-screen keyboard
// over it, so the page leaves the focus alone and the key row answers.
const touch = () => matchMedia('(pointer: coarse)').matches;

// keys is the on-screen key row for phones: what a prompt usually wants.
const keys = [
  ['Enter', '\r'], ['y', 'y'], ['n', 'n'], ['Ctrl-C', '\x03'], ['Tab', '\t'], ['Esc', '\x1b'], ['↑', '\x1b[A'], ['↓', '\x1b[B'],
];

export async function executionPage(main, [id], params) {
  setTitle('Execution ' + id.slice(0, 8));
  let targets;
  try {
    targets = list(await api('GET', '/executions/' + encodeURIComponent(id)), 'targets');
  } catch (err) {
    if (err.status === 404) {
      main.append(empty('No such execution', err.message, h('a.button', { href: '/activity' }, 'Activity')));
      return;
    }
    throw err;
  }
  if (!targets.length) {
    main.append(empty('This execution has no devices', 'It was not sent anywhere.'));
    return;
  }
  const only = params.get('device');
  const shown = only && targets.some((t) => t.device === only) ? targets.filter((t) => t.device === only) : targets;
  const job = targets[0].job;
  setTitle(`${job} · ${id.slice(0, 8)}`);

  const panes = new Map(); // device → {el, view, status, tab}
  const tabs = h('div.tabs', { role: 'tablist', 'aria-label': 'Devices' });
  const grid = h('div.terms', { 'data-terminals': shown.length });
  // A kill cannot be taken back and gives the job no time to clean up:
  // it is asked about first (Cancel has the keyboard); a stop is not.
  const confirmKill = (device) => {
    if (device) return confirmDialog(`Kill ${job} on ${device}?`, 'It gets SIGKILL at once, with no time to clean up (Stop asks it to end first).', 'Kill');
    const running = shown.length < targets.length ? [] // some are not on this page: name none
      : [...panes.values()].filter((p) => !['Finished', 'Error'].includes(p.record.status)).map((p) => p.record.device);
    return confirmDialog(`Kill ${job} on every device?`,
      `It gets SIGKILL at once on every device still running it${running.length ? ' (' + running.join(', ') + ')' : ''}, with no time to clean up (Stop all asks it to end first).`, 'Kill all');
  };
  const control = (op, device) => guard(async () => {
    if (op === 'kill' && !await confirmKill(device)) return;
    const q = device ? '?device=' + encodeURIComponent(device) : '';
    await api('POST', `/executions/${encodeURIComponent(id)}/${op}${q}`);
    toast(`${op === 'stop' ? 'Stopping' : 'Killing'} ${device || 'every device'}.`, 'info');
    refresh();
  });

  const activate = (device) => {
    for (const [name, p] of panes) {
      const on = name === device;
      p.el.classList.toggle('active', on);
      p.tab.setAttribute('aria-selected', on ? 'true' : 'false');
      if (on) { p.view.refit(); }
    }
  };

  for (const t of shown) {
    const status = h('div.term-status', { 'data-term-status': t.device });
    const host = h('div.term-host', { 'data-term': t.device });
    const conn = h('span.conn', { 'data-conn': t.device }, 'connecting');
    const keyrow = h('div.keyrow', { 'aria-label': `Keys for ${t.device}` },
      keys.map(([label, seq]) => h('button.key', {
        type: 'button', 'data-key': label,
        onclick: () => { const p = panes.get(t.device); p.view.send({ type: 'input', data: seq }); if (!touch()) p.view.focus(); },
      }, label)));
    const el = h('section.term-pane', { 'data-pane': t.device },
      h('header.term-head',
        h('h2', t.device), conn, status,
        h('div.row.tight',
          h('button.small', {
            type: 'button', 'data-find': t.device, title: 'Find in the output (Ctrl+F)', 'aria-keyshortcuts': 'Control+F',
            onclick: () => panes.get(t.device).find.open(),
          }, 'Find'),
          h('button.small', { type: 'button', 'data-stop': t.device, onclick: () => control('stop', t.device) }, 'Stop'),
          h('button.small.danger', { type: 'button', 'data-kill': t.device, onclick: () => control('kill', t.device) }, 'Kill'))),
      host, keyrow);
    const findSlot = h('div.find-slot');
    el.querySelector('.term-head').after(findSlot);
    const tab = h('button.tab', { type: 'button', role: 'tab', 'data-tab': t.device, onclick: () => { activate(t.device); if (!touch()) panes.get(t.device).view.focus(); } }, t.device);
    tabs.append(tab);
    grid.append(el);
    panes.set(t.device, { el, tab, status, conn, host, findSlot, record: t });
  }

  main.append(...[
    h('div.page-head',
      h('h1', job, ' ', h('small.muted.mono', { 'data-execution': id }, id.slice(0, 8))),
      only && targets.length > 1 ? h('a', { href: `/executions/${encodeURIComponent(id)}` }, `All ${targets.length} devices`) : null,
      h('div.row.tight',
        h('button', { type: 'button', 'data-stop-all': '', onclick: () => control('stop') }, 'Stop all'),
        h('button.danger', { type: 'button', 'data-kill-all': '', onclick: () => control('kill') }, 'Kill all'))),
    shown.length > 1 ? tabs : null,
    grid].filter(Boolean));
  // The run's recorded log, decrypted in the page (logpanel.js).
  const logs = logPanel(id, shown, shown[0].device);
  main.append(logs.element);

  for (const [device, p] of panes) {
    p.view = new TerminalView(p.host, id, device, {
      onFind: () => p.find.open(),
      probe: async () => {
        try {
          await api('GET', '/executions/' + encodeURIComponent(id));
          return null;
        } catch (err) {
          if (err.status === 0 || err.status >= 500) return null; // the server is away: keep trying
          return err.handled ? '' : err.message;
        }
      },
      onState: (state, detail) => {
        p.el.dataset.state = state;
        p.conn.textContent = { connecting: 'connecting…', live: 'live', ended: 'ended', retrying: 'reconnecting…', error: 'error' }[state] || state;
        p.conn.className = 'conn ' + state;
        if (state === 'error' && detail) toast(`${device}: ${detail}`);
        if (state === 'ended') { refresh(); logs.reload(); }
      },
    });
    p.find = findBar(p.view, device);
    p.findSlot.replaceWith(p.find.element);
  }
  // Ctrl+F anywhere in a pane (its buttons, its find box) finds in that
  // pane's terminal; the terminal itself handles the key first.
  main.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || !(ev.ctrlKey || ev.metaKey) || ev.altKey || ev.shiftKey || ev.key.toLowerCase() !== 'f') return;
    const pane = ev.target.closest && ev.target.closest('[data-pane]');
    if (!pane || !panes.has(pane.dataset.pane)) return;
    ev.preventDefault();
    panes.get(pane.dataset.pane).find.open();
  });
  activate(shown[0].device);
  if (!touch()) panes.get(shown[0].device).view.focus();

  // Statuses: poll until every device is done.
  let timer = null, gone = false;
  const draw = (t) => {
    const p = panes.get(t.device);
    if (!p) return;
    p.record = t;
    // The outcome is the API's (runlet.Execution.Outcome): Stopped or
    // Killed for a run a stop or kill ended, otherwise the status.
    const outcome = t.outcome || t.status;
    p.el.dataset.status = t.status;
    p.el.dataset.outcome = outcome;
    const final = t.status === 'Finished' || t.status === 'Error';
    const parts = [statusBadge(outcome, t.killed && !final ? '(stopping)' : null)];
    if (final) {
      const onRequest = outcome === 'Stopped' || outcome === 'Killed';
      if (t.signal) {
        parts.push(h('span.muted', { 'data-signal': t.signal }, onRequest ? `by ${t.signal}` : `ended by ${t.signal}`));
      }
      parts.push(h('span', { 'data-exit-code': t.exitCode }, `exit code ${t.exitCode}`));
      if (t.reason && !onRequest) parts.push(h('span.muted', t.reason));
      p.el.querySelector('[data-stop]').disabled = true;
      p.el.querySelector('[data-kill]').disabled = true;
    } else if (t.started && !t.started.startsWith('0001-')) {
      parts.push(h('span.muted', 'since ' + formatTime(t.started)));
    }
    const d = runDuration(t);
    if (d !== null) parts.push(h('span', { 'data-duration': '' }, duration(d)));
    p.status.replaceChildren(...parts);
    p.tab.dataset.status = t.status;
    p.tab.dataset.outcome = outcome;
  };
  const refresh = async () => {
    clearTimeout(timer);
    try {
      const ts = list(await api('GET', '/executions/' + encodeURIComponent(id)), 'targets');
      ts.forEach(draw);
      const done = ts.every((t) => ['Finished', 'Error'].includes(t.status));
      for (const b of main.querySelectorAll('[data-stop-all], [data-kill-all]')) b.disabled = done;
      if (!gone && ts.some((t) => shown.some((s) => s.device === t.device) && !['Finished', 'Error'].includes(t.status))) {
        timer = setTimeout(refresh, 2000);
      }
    } catch (err) {
      if (!gone && err.status !== 401) timer = setTimeout(refresh, 5000);
    }
  };
  targets.forEach(draw);
  refresh();

  return () => {
    gone = true;
    clearTimeout(timer);
    for (const p of panes.values()) p.view.dispose();
    logs.dispose();
  };
}
