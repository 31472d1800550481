// The alerts page (R-TEL-6, R-TEL-5): the open alerts (polled), then every
// alert newest first with "Load more", filtered on kind, sensor and device;
// each alert unfolds into the notifications sent about it, through which
// channel, to whom, in what state, after how many attempts and with which
// error. An alert's own page (/alerts/ID) shows the same for one alert.
import { api, list } from '../api.js';
import { h, empty, formatTime, setTitle, toast } from '../ui.js';
import { navigate } from '../router.js';

const every = 5000; // ms between polls
const pageSize = 20;
const set = (t) => t && !t.startsWith('0001-');

// kindLabels name each runlet.AlertKind for people.
export const kindLabels = {
  threshold: 'Threshold', silence: 'Silence', offline: 'Device offline', outbox: 'Outbox filling', refused: 'Readings refused',
};
const metricLabels = { temp: 'Temperature', batt: 'Battery' };

// what says in a few words what an alert is about.
export function what(a) {
  if (a.kind === 'threshold') {
    const unit = a.metric === 'temp' ? ' °C' : ' %';
    return `${metricLabels[a.metric] || a.metric} ${a.bound === 'min' ? 'below' : 'above'} ${a.limit}${unit}`;
  }
  if (a.kind === 'silence') return `Silent for ${Math.round((a.value || 0) / 60)} min`;
  return kindLabels[a.kind] || a.kind;
}

// about links to the sensor or names the device an alert is about.
export function about(a) {
  if (a.sensor) return h('a', { href: `/sensors/${a.sensor}` }, `Sensor ${a.sensor}`);
  return a.device ? h('span.mono', a.device) : h('span.muted', '—');
}

// alertBadge is an alert's state: open (red) or resolved (green).
export function alertBadge(a) {
  const open = !set(a.resolved);
  return h('span.badge', { class: open ? 'alert-open' : 'alert-resolved', 'data-alert-state': open ? 'open' : 'resolved' }, open ? 'open' : 'resolved');
}

// notificationsTable lists an alert's notifications, or any notifications
// with the alert each is about when withAlert.
export function notificationsTable(ns, withAlert = false) {
  if (!ns.length && withAlert) return h('p.muted', { 'data-no-notifications': '' }, 'No notifications yet.');
  if (!ns.length) return h('p.muted', { 'data-no-notifications': '' }, 'Nobody was told of this alert: no channel carries its route, or the period had not passed since people were told of the last one.');
  return h('table.inner', { 'data-notification-list': '' },
    h('thead', h('tr', [...(withAlert ? ['Alert'] : []), 'Event', 'Channel', 'Target', 'State', 'Attempts', 'Error', 'Sent'].map((c) => h('th', c)))),
    h('tbody', ns.map((n) => h('tr', { 'data-notification': n.id, 'data-state': n.state, 'data-event': n.event, 'data-channel': n.channel },
      withAlert ? h('td', n.alert ? h('a', { href: `/alerts/${n.alert}` }, `#${n.alert}`) : h('span.muted', 'test')) : null,
      h('td', n.event),
      h('td', n.kind),
      h('td.mono', { 'data-target': '' }, n.target),
      h('td', h('span.badge', { class: 'notification-' + n.state }, n.state),
        n.state === 'pending' && set(n.next) ? h('small.muted', ` next ${formatTime(n.next)}`) : null),
      h('td.num', String(n.attempts || 0)),
      h('td.wrap', { 'data-error': '' }, n.error ? h('span.danger-text', n.error) : h('span.muted', '—')),
      h('td', set(n.sent) ? formatTime(n.sent) : '—')))));
}

// alertsTable is a table of alerts whose rows unfold into their
// notifications; unfolded (a Set of ids) keeps them unfolded across redraws.
function alertsTable(alerts, unfolded) {
  const rows = [];
  for (const a of alerts) {
    const more = h('tr.unfold', { 'data-notifications-of': a.id, hidden: !unfolded.has(a.id) }, h('td', { colspan: 8 }, h('div', { 'data-notifications-body': '' }, h('span.muted', 'Loading…'))));
    const toggle = h('button.small', {
      type: 'button', 'data-show-notifications': a.id, 'aria-expanded': String(unfolded.has(a.id)),
      onclick: () => {
        const open = more.hidden;
        more.hidden = !open;
        toggle.setAttribute('aria-expanded', String(open));
        if (open) {
          unfolded.add(a.id);
          loadNotifications(a.id, more);
        } else unfolded.delete(a.id);
      },
    }, 'Notifications');
    rows.push(h('tr', { 'data-alert': a.id, 'data-kind': a.kind, 'data-open': String(!set(a.resolved)), 'data-sensor': a.sensor || null, 'data-device': a.device || null },
      h('td', alertBadge(a)),
      h('td', h('a', { href: `/alerts/${a.id}` }, what(a))),
      h('td', about(a)),
      h('td.wrap', { 'data-summary': '' }, a.summary, a.recovery ? h('small.muted.block', a.recovery) : null),
      h('td', formatTime(a.at)),
      h('td', set(a.resolved) ? formatTime(a.resolved) : '—'),
      h('td', set(a.notified) ? formatTime(a.notified) : h('span.muted', 'not told'), a.reminders ? h('small.muted', ` +${a.reminders} reminders`) : null),
      h('td', toggle)), more);
    if (unfolded.has(a.id)) loadNotifications(a.id, more);
  }
  return h('div.table-wrap', h('table',
    h('thead', h('tr', ['State', 'Alert', 'About', 'Summary', 'At', 'Resolved', 'Told', ''].map((c) => h('th', c)))),
    h('tbody', rows)));
}

async function loadNotifications(id, row) {
  const box = row.querySelector('[data-notifications-body]');
  try {
    const r = await api('GET', `/alerts/${id}`);
    box.replaceChildren(notificationsTable(list(r, 'notifications')));
  } catch (err) {
    if (!err.handled) box.replaceChildren(h('span.danger-text', err.message));
  }
}

const filters = [['kind', 'Kind'], ['sensor', 'Sensor id'], ['device', 'Device']];

export async function alertsPage(main, _, params) {
  setTitle('Alerts');
  const q = new URLSearchParams();
  for (const [k] of filters) if (params.get(k)) q.set(k, params.get(k));
  const filtered = [...q.keys()].length > 0;

  const kind = h('select', { 'aria-label': 'Kind', 'data-field': 'kind', onchange: () => form.requestSubmit() },
    h('option', { value: '' }, 'Any kind'),
    Object.entries(kindLabels).map(([k, label]) => h('option', { value: k, selected: k === params.get('kind') ? 'selected' : null }, label)));
  const inputs = Object.fromEntries(filters.slice(1).map(([k, label]) => [k,
    h('input', { type: 'search', 'aria-label': label, placeholder: label, 'data-field': k, value: params.get(k) || '' })]));
  const form = h('form.filters', {
    'data-form': 'alert-filters', role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      if (kind.value) p.set('kind', kind.value);
      for (const [k, input] of Object.entries(inputs)) if (input.value.trim()) p.set(k, input.value.trim());
      navigate('/alerts' + (p.toString() ? '?' + p : ''), { replace: true });
    },
  }, kind, Object.values(inputs), h('button', { type: 'submit' }, 'Filter'),
  filtered ? h('a.button', { href: '/alerts', 'data-clear-filters': '' }, 'Clear') : null);

  const openBody = h('div', { 'data-open-alerts': '' });
  const history = h('div', { 'data-alert-history': '' });
  const more = h('button', { type: 'button', 'data-load-more': '', hidden: true, onclick: () => loadMore() }, 'Load more');
  const stamp = h('small.muted', { 'data-updated': '' });
  main.append(h('div.page-head', h('h1', 'Alerts'), stamp), form,
    h('section', h('h2', 'Open'), openBody),
    h('section', h('h2', 'All alerts'), history, h('div.row.more', more)));

  const openUnfolded = new Set(), pastUnfolded = new Set();
  let lastOpen = '', gone = false, timer = null, failed = false, next = 0, past = [];

  const drawOpen = (alerts) => {
    const now = JSON.stringify(alerts);
    if (now === lastOpen) {
      for (const id of openUnfolded) { // their notifications move on (pending, sent)
        const row = openBody.querySelector(`tr[data-notifications-of="${id}"]`);
        if (row) loadNotifications(id, row);
      }
      return;
    }
    lastOpen = now;
    openBody.replaceChildren(alerts.length ? alertsTable(alerts, openUnfolded)
      : h('p.muted', { 'data-none-open': '' }, filtered ? 'No open alert matches.' : 'No open alerts: every sensor and device is within its rules.'));
  };
  const drawHistory = () => {
    history.replaceChildren(past.length ? alertsTable(past, pastUnfolded)
      : empty('No alerts yet', 'Alerts open when a sensor leaves its thresholds or goes silent, or a device goes offline. Set the thresholds on a sensor’s page and the channels in Settings → Alerting.',
        h('a.button', { href: '/settings/alerting' }, 'Alerting settings')));
    more.hidden = !next;
  };
  const loadMore = async () => {
    const p = new URLSearchParams(q);
    p.set('limit', String(pageSize));
    if (next) p.set('before', String(next));
    try {
      const r = await api('GET', '/alerts?' + p);
      past = past.concat(list(r, 'alerts'));
      next = (r && r.next) || 0;
      drawHistory();
    } catch (err) {
      if (!err.handled) toast(err.message);
    }
  };
  const poll = async () => {
    try {
      const p = new URLSearchParams(q);
      p.set('open', 'true');
      p.set('limit', '100');
      const r = await api('GET', '/alerts?' + p);
      if (gone) return;
      drawOpen(list(r, 'alerts'));
      stamp.textContent = 'updated ' + new Date().toLocaleTimeString();
      failed = false;
    } catch (err) {
      if (gone || err.status === 401) return;
      if (!failed) {
        stamp.textContent = err.message;
        toast(err.message);
      }
      failed = true;
    }
    if (!gone) timer = setTimeout(poll, every);
  };
  await Promise.all([poll(), loadMore()]);
  return () => { gone = true; clearTimeout(timer); };
}

// alertPage is one alert with its notifications, polled while open.
export async function alertPage(main, [id]) {
  setTitle(`Alert ${id}`);
  const facts = h('div', { 'data-alert-facts': '' });
  const ns = h('div', { 'data-alert-notifications': '' });
  const title = h('h1', `Alert ${id}`);
  main.append(h('div.page-head', title, h('a', { href: '/alerts' }, '← All alerts')),
    h('section.card', facts), h('section.card', h('h2', 'Notifications'), ns));
  let gone = false, timer = null;
  const load = async () => {
    try {
      const r = await api('GET', `/alerts/${encodeURIComponent(id)}`);
      if (gone) return;
      const a = r.alert;
      title.textContent = what(a);
      setTitle(what(a));
      facts.replaceChildren(h('dl.facts', { 'data-alert': a.id, 'data-kind': a.kind, 'data-open': String(!set(a.resolved)) },
        h('dt', 'State'), h('dd', alertBadge(a)),
        h('dt', 'About'), h('dd', about(a)),
        a.device && a.sensor ? [h('dt', 'Relayed by'), h('dd.mono', a.device)] : null,
        h('dt', 'Summary'), h('dd', a.summary),
        a.recovery ? [h('dt', 'Recovery'), h('dd', a.recovery)] : null,
        h('dt', 'At'), h('dd', formatTime(a.at)),
        h('dt', 'Opened'), h('dd', formatTime(a.opened)),
        h('dt', 'Resolved'), h('dd', set(a.resolved) ? formatTime(a.resolved) : '—'),
        h('dt', 'Told'), h('dd', set(a.notified) ? formatTime(a.notified) : 'not yet', a.reminders ? ` (${a.reminders} reminders)` : '')));
      ns.replaceChildren(notificationsTable(list(r, 'notifications')));
    } catch (err) {
      if (gone || err.handled) return;
      facts.replaceChildren(h('p.danger-text', err.message));
      if (err.status === 404) return;
    }
    if (!gone) timer = setTimeout(load, every);
  };
  await load();
  return () => { gone = true; clearTimeout(timer); };
}
