// A sensor's page (R-TEL-6): its temperature and battery over the last
// hour, day or week or a range of one's own (GET /sensors/{id}/readings,
// downsampled with a step beyond an hour), with its thresholds drawn and
// zoom by dragging; while the page is open it polls every 5 s and appends
// what came. Below, the form of its rules and details (PATCH
// /sensors/{id}, admins), and its open and recent alerts.
import { api, list, session } from '../api.js';
import { h, field, guard, toast, empty, ago, formatTime, setTitle } from '../ui.js';
import { SensorChart } from '../chart.js';
import { sensorBadge, formatTemp, formatBatt } from './sensors.js';
import { alertBadge, what } from './alerts.js';

const every = 5000; // ms between polls

// ranges are the chart's ranges: their span in seconds and the step asked
// for (every point for the last hour, else about 1000 buckets).
const ranges = [
  { key: '1h', label: 'Last hour', span: 3600, step: '' },
  { key: '24h', label: 'Last day', span: 86400, step: 'auto' },
  { key: '7d', label: 'Last week', span: 7 * 86400, step: 'auto' },
];

// bounds are the threshold fields of runlet.Thresholds.
const bounds = [['tempMin', 'Temperature min (°C)'], ['tempMax', 'Temperature max (°C)'], ['battMin', 'Battery min (%)'], ['battMax', 'Battery max (%)']];

// localInput formats a time for a datetime-local input.
function localInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export async function sensorPage(main, [id], params) {
  setTitle(`Sensor ${id}`);
  const admin = session && (session.role === 'admin' || session.role === 'owner');
  let sensor;
  try {
    sensor = await api('GET', `/sensors/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status !== 404) throw err;
    main.append(empty('No such sensor', err.message, h('a.button', { href: '/sensors' }, 'All sensors')));
    return undefined;
  }
  // The workspace's defaults fill the bounds a sensor leaves unset.
  let defaults = {};
  try {
    defaults = ((await api('GET', '/alerts/settings')) || {}).defaults || {};
  } catch (err) {
    if (err.handled) throw err;
  }
  let gone = false, timer = null;

  // Head and facts.
  const title = h('h1');
  const badge = h('span', { 'data-sensor-status': '' });
  const facts = h('dl.facts', { 'data-sensor-facts': '' });
  const drawHead = () => {
    title.textContent = sensor.name || `Sensor ${sensor.id}`;
    setTitle(title.textContent);
    badge.replaceChildren(sensorBadge(sensor));
    const latest = sensor.latest || {};
    facts.replaceChildren(
      h('dt', 'ID'), h('dd.mono', String(sensor.id)),
      h('dt', 'Temperature'), h('dd', { 'data-latest': 'temp' }, formatTemp(latest.temp)),
      h('dt', 'Battery'), h('dd', { 'data-latest': 'batt' }, formatBatt(latest.batt)),
      h('dt', 'Last seen'), h('dd', { title: formatTime(sensor.lastSeen) }, ago(sensor.lastSeen)),
      h('dt', 'State'), h('dd', sensor.state),
      h('dt', 'Owner'), h('dd', sensor.owner || '—'),
      h('dt', 'Location'), h('dd', sensor.location || '—'),
      h('dt', 'Contact'), h('dd', sensor.contact || '—'));
  };
  drawHead();

  // The chart and its range.
  const host = h('div.chart', { 'data-chart': '', 'data-zoomed': 'false' });
  const reset = h('button.small', { type: 'button', 'data-reset-zoom': '', hidden: true, onclick: () => chart.reset() }, 'Reset zoom');
  const note = h('small.muted', { 'data-chart-note': '' });
  const from = h('input', { type: 'datetime-local', 'aria-label': 'From', 'data-field': 'from' });
  const to = h('input', { type: 'datetime-local', 'aria-label': 'To', 'data-field': 'to' });
  const custom = h('form.range-custom', {
    'data-form': 'range', hidden: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      show({ key: 'custom' });
    },
  }, h('label', 'From ', from), h('label', 'To ', to), h('button.small', { type: 'submit' }, 'Show'));
  const buttons = [...ranges, { key: 'custom', label: 'Custom' }].map((r) => h('button.small', {
    type: 'button', 'data-range': r.key,
    onclick: () => {
      if (r.key === 'custom') {
        custom.hidden = false;
        if (!from.value) {
          from.value = localInput(new Date(Date.now() - 86400e3));
          to.value = localInput(new Date());
        }
        from.focus();
        return;
      }
      show(r);
    },
  }, r.label));
  const chart = new SensorChart(host, { onZoom: (z) => { reset.hidden = !z; } });
  // The page's chart, for the browser tests and the curious.
  window.runlet = window.runlet || {};
  window.runlet.chart = chart;

  const thresholds = () => Object.fromEntries(bounds.map(([k]) => [k, sensor.rules?.[k] ?? defaults[k] ?? null]));
  chart.setThresholds(thresholds());

  // current is the range shown: its key, the step the server used, and
  // whether it follows now.
  let current = null, loading = 0;
  const series = (metric, q) => api('GET', `/sensors/${encodeURIComponent(id)}/readings?` + new URLSearchParams({ metric, ...q }));
  const fetchBoth = async (q) => {
    const [t, b] = await Promise.all([series('temp', q), series('batt', q)]);
    return [t, b];
  };
  const show = async (r) => {
    const mine = ++loading;
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.range === r.key));
    custom.hidden = r.key !== 'custom';
    let q;
    if (r.key === 'custom') {
      const f = new Date(from.value), t = new Date(to.value);
      if (isNaN(f) || isNaN(t) || t <= f) {
        toast('Choose a From before the To.');
        return;
      }
      q = { from: f.toISOString(), to: t.toISOString(), step: t - f > 3600e3 ? 'auto' : '' };
    } else {
      q = { from: '-' + r.key, to: 'now', step: r.step };
    }
    if (!q.step) delete q.step;
    try {
      let [t, b] = await fetchBoth(q);
      if ((t.truncated || b.truncated) && !q.step) { // too many points for every one: buckets
        q.step = 'auto';
        [t, b] = await fetchBoth(q);
      }
      if (mine !== loading || gone) return;
      current = { ...r, step: t.step || '', live: r.key !== 'custom', span: r.span };
      host.dataset.range = r.key;
      host.dataset.step = current.step;
      chart.reset();
      chart.setPoints(t.points, b.points);
      note.textContent = (current.step ? `one point per ${current.step} (mean)` : 'every reading') + (current.live ? ', live' : '');
      const u = new URL(location.href);
      u.searchParams.set('range', r.key);
      if (r.key === 'custom') {
        u.searchParams.set('from', q.from);
        u.searchParams.set('to', q.to);
      } else {
        u.searchParams.delete('from');
        u.searchParams.delete('to');
      }
      history.replaceState(null, '', u.pathname + u.search);
    } catch (err) {
      if (!err.handled) toast(err.message);
    }
  };

  // live appends what came since the last point shown (the last bucket
  // again, which may have grown), and drops what left the range.
  const live = async () => {
    if (!current || !current.live) return;
    const mine = loading;
    const xs = chart.columns[0];
    const q = { from: xs.length ? new Date(xs[xs.length - 1] * 1000).toISOString() : '-' + current.key, to: 'now' };
    if (current.step) q.step = current.step;
    const [t, b] = await fetchBoth(q);
    if (mine !== loading || gone) return;
    const end = new Date(t.to).getTime() / 1000;
    chart.append(t.points, b.points, end - current.span);
  };

  // The rules and details form.
  const inputs = {};
  for (const [k] of bounds) inputs[k] = h('input', { type: 'number', step: 'any', name: k, 'data-field': k, disabled: !admin });
  inputs.silence = h('input', { name: 'silence', 'data-field': 'silence', disabled: !admin, pattern: '\\s*(\\d+(\\.\\d+)?(ns|us|µs|ms|s|m|h|d))+\\s*', title: 'A duration: 90s, 30m, 2h, 1d' });
  for (const k of ['owner', 'location', 'contact']) inputs[k] = h('input', { name: k, 'data-field': k, disabled: !admin, maxlength: 200 });
  inputs.owner.placeholder = 'e-mail of a member, or a user id';
  const formError = h('div.form-error', { 'data-form-error': '', role: 'alert' });
  const fillForm = () => {
    const rules = sensor.rules || {};
    for (const [k] of bounds) {
      inputs[k].value = rules[k] ?? '';
      inputs[k].placeholder = defaults[k] !== undefined && defaults[k] !== null ? `default ${defaults[k]}` : 'none';
    }
    inputs.silence.value = rules.silence || '';
    inputs.silence.placeholder = `default ${defaults.silence || '1h'}`;
    for (const k of ['owner', 'location', 'contact']) inputs[k].value = sensor[k] || '';
  };
  fillForm();
  const save = h('button.primary', { type: 'submit', 'data-save-rules': '', disabled: !admin }, 'Save');
  const form = h('form.rules', {
    'data-form': 'sensor-rules', novalidate: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      formError.replaceChildren();
      const rules = {};
      const wrong = [];
      for (const [k, label] of bounds) {
        const v = inputs[k].value.trim();
        if (v === '') continue;
        const n = Number(v);
        if (!Number.isFinite(n) || inputs[k].validity.badInput) wrong.push(`${label} must be a number.`);
        else rules[k] = n;
      }
      if (inputs.silence.value.trim()) rules.silence = inputs.silence.value.trim();
      if (wrong.length || inputs.silence.validity.patternMismatch) {
        if (inputs.silence.validity.patternMismatch) wrong.push('The silence period must be a duration such as 90s, 30m, 2h or 1d.');
        formError.replaceChildren(...wrong.map((w) => h('div', w)));
        return;
      }
      const body = { rules, owner: inputs.owner.value.trim(), location: inputs.location.value.trim(), contact: inputs.contact.value.trim() };
      save.disabled = true;
      guard(async () => {
        try {
          sensor = await api('PATCH', `/sensors/${encodeURIComponent(id)}`, body);
        } catch (err) {
          if (err.handled) throw err;
          // The server's sentence, and its details when it gives some, stay
          // beside the form until the next try.
          formError.replaceChildren(h('div', err.message), ...err.details.map((d) => h('div', typeof d === 'string' ? d : d.message || JSON.stringify(d))));
          return;
        }
        form.dataset.saved = String(Date.now());
        toast('Saved the sensor’s rules.', 'ok');
        drawHead();
        fillForm();
        chart.setThresholds(thresholds());
      }).finally(() => { save.disabled = !admin; });
    },
  },
  h('div.grid', bounds.map(([k, label]) => field(label, inputs[k]))),
  h('div.grid', field('Silence period', inputs.silence, 'An alert when it sends nothing for this long.'),
    field('Owner', inputs.owner), field('Location', inputs.location), field('Contact', inputs.contact)),
  formError,
  h('div.row', save, admin ? h('small.muted', 'An empty bound takes the workspace’s default (Settings → Alerting).') : h('small.muted', 'Only admins change a sensor’s rules.')));

  // The sensor's open and recent alerts.
  const alerts = h('div', { 'data-sensor-alerts': '' });
  let lastAlerts = '';
  const loadAlerts = async () => {
    const r = await api('GET', `/alerts?sensor=${encodeURIComponent(id)}&limit=10`);
    const as = list(r, 'alerts');
    const now = JSON.stringify(as);
    if (now === lastAlerts) return;
    lastAlerts = now;
    alerts.replaceChildren(as.length
      ? h('div.table-wrap', h('table',
        h('thead', h('tr', ['State', 'Alert', 'Summary', 'At', 'Resolved'].map((c) => h('th', c)))),
        h('tbody', as.map((a) => h('tr', { 'data-alert': a.id, 'data-kind': a.kind, 'data-open': String(!a.resolved || a.resolved.startsWith('0001-')) },
          h('td', alertBadge(a)), h('td', h('a', { href: `/alerts/${a.id}` }, what(a))), h('td.wrap', a.summary),
          h('td', formatTime(a.at)), h('td', formatTime(a.resolved)))))))
      : h('p.muted', { 'data-no-alerts': '' }, 'No alerts for this sensor.'));
  };

  main.append(
    h('div.page-head', title, badge, h('a', { href: '/sensors' }, '← All sensors')),
    h('section.card', { 'data-section': 'chart' },
      h('div.chart-head', h('div.row.tight', { role: 'group', 'aria-label': 'Range' }, buttons), reset, note), custom, host),
    h('div.columns',
      h('section.card', { 'data-section': 'facts' }, h('h2', 'Sensor'), facts),
      h('section.card', { 'data-section': 'rules' }, h('h2', 'Rules and details'), form)),
    h('section.card', { 'data-section': 'alerts' }, h('h2', 'Alerts'), alerts, h('p', h('a', { href: `/alerts?sensor=${encodeURIComponent(id)}` }, 'All of this sensor’s alerts →'))));

  const start = ranges.find((r) => r.key === params.get('range'));
  if (params.get('range') === 'custom' && params.get('from') && params.get('to')) {
    from.value = localInput(new Date(params.get('from')));
    to.value = localInput(new Date(params.get('to')));
    await show({ key: 'custom' });
  } else {
    await show(start || ranges[0]);
  }
  await guard(loadAlerts);

  // Live: the chart, the sensor's latest values and status, its alerts.
  let failed = false;
  const poll = async () => {
    try {
      await live();
      const s = await api('GET', `/sensors/${encodeURIComponent(id)}`);
      if (gone) return;
      if (JSON.stringify(s) !== JSON.stringify(sensor)) {
        sensor = s;
        drawHead();
        chart.setThresholds(thresholds());
      }
      await loadAlerts();
      failed = false;
    } catch (err) {
      if (gone || err.handled) return;
      if (!failed) toast(err.message);
      failed = true;
    }
    if (!gone) timer = setTimeout(poll, every);
  };
  timer = setTimeout(poll, every);
  return () => {
    gone = true;
    clearTimeout(timer);
    chart.destroy();
    if (window.runlet && window.runlet.chart === chart) delete window.runlet.chart;
  };
}
