// The devices page: every device of the workspace, online or offline as
// its heartbeats say (polled every few seconds), with what it runs; an
// admin removes a device here (DELETE /devices/NAME), cutting its access.
import { api, list, session } from '../api.js';
import { h, empty, ago, setTitle, formatTime, toast, guard, confirmDialog } from '../ui.js';

const every = 2000; // ms between polls; the server's heartbeat timeout is longer

export async function devicesPage(main) {
  setTitle('Devices');
  const body = h('div', { 'data-devices': '' });
  const stamp = h('small.muted', { 'data-updated': '' });
  main.append(h('div.page-head', h('h1', 'Devices'), stamp), body);
  let timer = null, gone = false, failed = false;
  const admin = session && (session.role === 'admin' || session.role === 'owner');

  const remove = async (name) => {
    if (!await confirmDialog(`Remove ${name}?`,
      `${name} loses its access at once: its tokens are revoked, its connections closed and its daemon stops. To come back it must sign in again (runlet @signin).`, 'Remove')) return;
    guard(async () => {
      await api('DELETE', '/devices/' + encodeURIComponent(name));
      toast(`Removed ${name}.`, 'ok');
      body.querySelector(`tr[data-device="${CSS.escape(name)}"]`)?.remove(); // the next poll redraws
      last = '';
    });
  };

  // A device whose outbox of sensor readings is full, or has dropped
  // some, says so beside its name: readings are being lost.
  const outbox = (t) => {
    if (!t || (!t.full && !t.dropped)) return null;
    const text = t.full ? `readings outbox full: ${t.dropped} dropped` : `${t.dropped} readings dropped`;
    return h('span.badge.offline', { 'data-telemetry-outbox': '', title: `${t.pending} readings waiting for the broker` }, ' ', text);
  };

  const row = (d) => {
    const labels = Object.entries(d.labels || {});
    return h('tr', { 'data-device': d.name, 'data-online': String(!!d.online) },
      h('td', h('span.dot', { class: d.online ? 'on' : 'off', 'aria-hidden': 'true' }), h('strong', d.name), outbox(d.telemetry)),
      h('td', h('span.badge', { class: d.online ? 'online' : 'offline', 'data-presence': '' }, d.online ? 'online' : 'offline')),
      h('td', [d.os, d.arch].filter(Boolean).join(' / ') || '—'),
      h('td.mono', d.version || '—'),
      h('td', { title: formatTime(d.lastSeen) }, d.online ? 'now' : ago(d.lastSeen)),
      h('td', labels.length ? labels.map(([k, v]) => h('span.label-chip', `${k}=${v}`)) : h('span.muted', '—')),
      h('td.num', h('a', { href: `/activity?device=${encodeURIComponent(d.name)}&status=Running`, 'data-running': d.running || 0, title: 'Running executions' }, String(d.running || 0)),
        d.queued ? h('small.muted', ` +${d.queued} queued`) : null),
      h('td.num.muted', d.online ? `${Math.round(d.cpu || 0)}% · ${Math.round(d.memory || 0)}%` : '—'),
      admin ? h('td', h('button.small.danger-text', { type: 'button', 'data-remove-device': d.name, onclick: () => remove(d.name) }, 'Remove')) : null);
  };

  let last = '';
  const draw = (devices) => {
    const now = JSON.stringify(devices) + Math.floor(Date.now() / 10000); // "seen … ago" moves on
    if (now === last) return; // unchanged: keep the focus and the hover
    last = now;
    if (!devices.length) {
      body.replaceChildren(empty('No devices yet',
        'Sign a machine in with an enrollment token (Settings → Enrollment tokens) or with `runlet @signin` on it and approve its code here.',
        h('a.button.primary', { href: '/settings#tokens' }, 'Create an enrollment token')));
      return;
    }
    const online = devices.filter((d) => d.online).length;
    body.replaceChildren(
      h('p.muted', `${online} of ${devices.length} online`),
      h('div.table-wrap', h('table',
        h('thead', h('tr', ['Device', 'Status', 'System', 'Version', 'Last seen', 'Labels', 'Running', 'CPU · memory', ...(admin ? [''] : [])].map((c) => h('th', c)))),
        h('tbody', devices.map(row)))));
  };

  const poll = async () => {
    try {
      const devices = list(await api('GET', '/devices'), 'devices');
      if (gone) return;
      draw(devices);
      stamp.textContent = 'updated ' + new Date().toLocaleTimeString();
      failed = false;
    } catch (err) {
      if (gone || err.status === 401) return;
      if (!failed) { // say it once, not at every poll
        stamp.textContent = err.message;
        toast(err.message);
      }
      failed = true;
    }
    if (!gone) timer = setTimeout(poll, every);
  };
  await poll();
  return () => { gone = true; clearTimeout(timer); };
}
