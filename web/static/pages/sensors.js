// The sensors page (R-TEL-6): every sensor of the workspace with its latest
// temperature and battery, when it last reported and how it stands (ok,
// out of range, silent, inactive, never reported), polled every few
// seconds. A sensor's name opens its page (sensor.js).
import { api, list } from '../api.js';
import { h, empty, ago, setTitle, formatTime, toast } from '../ui.js';

const every = 3000; // ms between polls

// statusLabels are what a person reads for each runlet.SensorStatus.
const statusLabels = { ok: 'ok', out_of_range: 'out of range', silent: 'silent', inactive: 'inactive', never: 'never reported' };

// statusOf is the sensor's status as the API says it, or, from a server
// that does not say, what its record alone tells.
export function statusOf(s) {
  if (s.status) return s.status;
  if (s.state === 'inactive') return 'inactive';
  return s.lastSeen ? 'ok' : 'never';
}

// sensorBadge is a sensor's status as a coloured label.
export function sensorBadge(s) {
  const st = statusOf(s);
  return h('span.badge.sensor-' + st, { 'data-status': st }, statusLabels[st] || st);
}

// formatTemp and formatBatt show a metric's value with its unit.
export function formatTemp(v) {
  return typeof v === 'number' ? `${v.toFixed(1)} °C` : '—';
}
export function formatBatt(v) {
  return typeof v === 'number' ? `${Math.round(v)} %` : '—';
}

export async function sensorsPage(main) {
  setTitle('Sensors');
  const body = h('div', { 'data-sensors': '' });
  const stamp = h('small.muted', { 'data-updated': '' });
  main.append(h('div.page-head', h('h1', 'Sensors'), stamp), body);
  let timer = null, gone = false, failed = false, last = '';

  const row = (s) => {
    const latest = s.latest || {};
    return h('tr', { 'data-sensor': s.id, 'data-status': statusOf(s) },
      h('td', h('a', { href: `/sensors/${s.id}`, 'data-sensor-link': s.id }, s.name || `Sensor ${s.id}`)),
      h('td.mono', String(s.id)),
      h('td', s.owner || h('span.muted', '—')),
      h('td', s.location || h('span.muted', '—')),
      h('td.num', { 'data-latest': 'temp' }, formatTemp(latest.temp)),
      h('td.num', { 'data-latest': 'batt' }, formatBatt(latest.batt)),
      h('td', { title: formatTime(s.lastSeen), 'data-last-seen': s.lastSeen || '' }, ago(s.lastSeen)),
      h('td', sensorBadge(s)));
  };

  const draw = (sensors) => {
    const now = JSON.stringify(sensors) + Math.floor(Date.now() / 10000); // "… ago" moves on
    if (now === last) return; // unchanged: keep the focus and the hover
    last = now;
    if (!sensors.length) {
      body.replaceChildren(empty('No sensors yet',
        'Register a sensor with `runlet sensors add ID --secret …`; its readings reach the server through a device running `runlet daemon --telemetry-listen`.'));
      return;
    }
    const bad = sensors.filter((s) => ['out_of_range', 'silent'].includes(statusOf(s))).length;
    body.replaceChildren(
      h('p.muted', bad ? `${bad} of ${sensors.length} need attention` : `${sensors.length} sensors, all well`),
      h('div.table-wrap', h('table',
        h('thead', h('tr', ['Sensor', 'ID', 'Owner', 'Location', 'Temperature', 'Battery', 'Last seen', 'Status'].map((c) => h('th', c)))),
        h('tbody', sensors.map(row)))));
  };

  const poll = async () => {
    try {
      const sensors = list(await api('GET', '/sensors'), 'sensors');
      if (gone) return;
      draw(sensors);
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
