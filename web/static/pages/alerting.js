// The alerting settings (Settings → Alerting, R-TEL-3 to R-TEL-5): the
// workspace's default thresholds and periods and who gets each kind of
// alert (GET/PUT /alerts/settings); the notification providers, SMTP for
// e-mail and an HTTP SMS provider, whose passwords are written and never
// shown (GET/PUT /notify/settings); and the channels, the workspace's and
// one's own (list, add, test, disable, delete). Changes are for admins,
// except a member's own channels; the API refuses the rest anyway.
import { api, list, session } from '../api.js';
import { h, field, guard, toast, empty, confirmDialog, formatTime, setTitle } from '../ui.js';
import { notificationsTable } from './alerts.js';

// routes are the routes of runlet.DefaultRouting, for people.
export const routes = [
  ['threshold.temp', 'Temperature out of range'], ['threshold.batt', 'Battery out of range'], ['silence', 'Sensor silent'],
  ['offline', 'Device offline'], ['outbox', 'Device outbox filling'], ['refused', 'Readings refused'],
];
const audiences = [['owner', 'the sensor’s owner'], ['admins', 'the admins'], ['both', 'owner and admins']];
const bounds = [['tempMin', 'Temperature min (°C)'], ['tempMax', 'Temperature max (°C)'], ['battMin', 'Battery min (%)'], ['battMax', 'Battery max (%)']];
const durationPattern = '\\s*(\\d+(\\.\\d+)?(ns|us|µs|ms|s|m|h|d))+\\s*';

// errorBox is a form's place for the server's sentence.
const errorBox = () => h('div.form-error', { 'data-form-error': '', role: 'alert' });
function showError(box, err) {
  if (err.handled) throw err;
  box.replaceChildren(h('div', err.message), ...(err.details || []).map((d) => h('div', typeof d === 'string' ? d : d.message || JSON.stringify(d))));
}

export async function alertingPage(main) {
  setTitle('Alerting');
  const admin = session.role === 'admin' || session.role === 'owner';
  main.append(h('div.page-head', h('h1', 'Alerting'), h('a', { href: '/settings' }, '← Settings')));
  const recent = recentSection();
  const sections = [rulesSection(admin), providersSection(admin), channelsSection(admin, recent.load), recent.section];
  main.append(...(await Promise.all(sections)));
  if (location.hash) document.querySelector(location.hash)?.scrollIntoView();
}

async function rulesSection(admin) {
  const section = h('section.card', { id: 'alert-rules', 'data-section': 'alert-rules' }, h('h2', 'Alert rules'));
  let s;
  try {
    s = (await api('GET', '/alerts/settings')) || {};
  } catch (err) {
    if (err.handled) throw err;
    section.append(h('p.muted', err.message));
    return section;
  }
  const d = s.defaults || {};
  const inputs = {};
  for (const [k] of bounds) inputs[k] = h('input', { type: 'number', step: 'any', 'data-field': 'default-' + k, value: d[k] ?? '', placeholder: 'none', disabled: !admin });
  const dur = (name, value, placeholder) => h('input', { 'data-field': name, value: value || '', placeholder, pattern: durationPattern, title: 'A duration: 90s, 30m, 2h, 1d', disabled: !admin });
  inputs.silence = dur('default-silence', d.silence, '1h');
  inputs.every = dur('every', s.every, '1h');
  inputs.offlineLimit = dur('offline-limit', s.offlineLimit, '15m');
  const routing = s.routing || {};
  const defaultsOf = { 'threshold.temp': 'owner', silence: 'owner' };
  const selects = Object.fromEntries(routes.map(([r]) => [r, h('select', { 'data-route': r, disabled: !admin },
    audiences.map(([a, label]) => h('option', { value: a, selected: (routing[r] || defaultsOf[r] || 'admins') === a ? 'selected' : null }, label)))]));
  const box = errorBox();
  const form = h('form', {
    'data-form': 'alert-settings', novalidate: true,
    onsubmit: (ev) => {
      ev.preventDefault();
      box.replaceChildren();
      const defaults = {};
      const wrong = [];
      for (const [k, label] of bounds) {
        const v = inputs[k].value.trim();
        if (v === '') continue;
        if (!Number.isFinite(Number(v))) wrong.push(`${label} must be a number.`);
        else defaults[k] = Number(v);
      }
      for (const k of ['silence', 'every', 'offlineLimit']) {
        if (inputs[k].validity.patternMismatch) wrong.push(`${inputs[k].closest('label').querySelector('.label').textContent} must be a duration such as 90s, 30m, 2h or 1d.`);
      }
      if (wrong.length) {
        box.replaceChildren(...wrong.map((w) => h('div', w)));
        return;
      }
      if (inputs.silence.value.trim()) defaults.silence = inputs.silence.value.trim();
      const body = { defaults, routing: Object.fromEntries(routes.map(([r]) => [r, selects[r].value])) };
      if (inputs.every.value.trim()) body.every = inputs.every.value.trim();
      if (inputs.offlineLimit.value.trim()) body.offlineLimit = inputs.offlineLimit.value.trim();
      guard(async () => {
        try {
          await api('PUT', '/alerts/settings', body);
        } catch (err) {
          showError(box, err);
          return;
        }
        form.dataset.saved = String(Date.now());
        toast('Saved the alert rules.', 'ok');
      });
    },
  },
  h('h3', 'Defaults of every sensor'),
  h('div.grid', bounds.map(([k, label]) => field(label, inputs[k])), field('Silence period', inputs.silence, 'A sensor silent this long raises an alert.')),
  h('h3', 'Periods'),
  h('div.grid',
    field('Tell at most once every', inputs.every, 'People hear of one sensor and metric (or device) at most this often.'),
    field('Device offline after', inputs.offlineLimit)),
  h('h3', 'Who is told'),
  h('div.table-wrap', h('table', h('thead', h('tr', h('th', 'Alert'), h('th', 'Goes to'))),
    h('tbody', routes.map(([r, label]) => h('tr', { 'data-routing': r }, h('td', label), h('td', selects[r])))))),
  box,
  admin ? h('div.row', h('button.primary', { type: 'submit', 'data-save-alert-settings': '' }, 'Save rules'))
    : h('p.muted', 'Only admins change the alert rules.'));
  section.append(form);
  return section;
}

async function providersSection(admin) {
  const section = h('section.card', { id: 'providers', 'data-section': 'providers' }, h('h2', 'Notification providers'));
  let s;
  try {
    s = (await api('GET', '/notify/settings')) || {};
  } catch (err) {
    if (err.handled) throw err;
    section.append(h('p.muted', admin ? err.message : 'Only admins see and change the notification providers.'));
    return section;
  }
  const smtp = s.smtp || {}, sms = s.sms || {};
  const input = (name, value, attrs = {}) => h('input', { 'data-field': name, value: value ?? '', disabled: !admin, ...attrs });
  const password = (name, has) => h('input', {
    type: 'password', 'data-field': name, autocomplete: 'new-password', disabled: !admin,
    placeholder: has ? 'set (type to replace)' : 'none', 'data-has-password': String(!!has),
  });
  const f = {
    smtpHost: input('smtp-host', smtp.host, { placeholder: 'smtp.example.com' }),
    smtpPort: input('smtp-port', smtp.port || '', { type: 'number', min: 1, max: 65535, placeholder: '587' }),
    smtpTLS: h('select', { 'data-field': 'smtp-tls', disabled: !admin },
      [['starttls', 'STARTTLS'], ['tls', 'TLS (port 465)'], ['none', 'none (loopback only)']].map(([v, l]) => h('option', { value: v, selected: (smtp.tls || 'starttls') === v ? 'selected' : null }, l))),
    smtpUser: input('smtp-username', smtp.username, { autocomplete: 'off' }),
    smtpPassword: password('smtp-password', smtp.hasPassword),
    smtpFrom: input('smtp-from', smtp.from, { placeholder: 'alerts@example.com' }),
    smtpInsecure: h('input', { type: 'checkbox', 'data-field': 'smtp-insecure', checked: !!smtp.insecureSkipVerify, disabled: !admin }),
    smsURL: input('sms-url', sms.url, { placeholder: 'https://api.example.com/messages' }),
    smsMethod: input('sms-method', sms.method, { placeholder: 'POST' }),
    smsBody: h('textarea', { 'data-field': 'sms-body', rows: 3, disabled: !admin, placeholder: 'To={{.To}}&Body={{.Text}}' }),
    smsType: input('sms-content-type', sms.contentType, { placeholder: 'application/x-www-form-urlencoded' }),
    smsHeaders: h('textarea', {
      'data-field': 'sms-headers', rows: 2, disabled: !admin,
      placeholder: sms.headerNames && sms.headerNames.length ? `set: ${sms.headerNames.join(', ')} (type to replace them all)` : 'Name: value, one a line',
    }),
    smsUser: input('sms-username', sms.username, { autocomplete: 'off' }),
    smsPassword: password('sms-password', sms.hasPassword),
  };
  f.smsBody.value = sms.body || '';
  const box = errorBox();
  const form = h('form', {
    'data-form': 'providers',
    onsubmit: (ev) => {
      ev.preventDefault();
      box.replaceChildren();
      let headers = null; // left out: the stored ones stay (they are write-only)
      for (const line of f.smsHeaders.value.split('\n')) {
        if (!line.trim()) continue;
        const i = line.indexOf(':');
        if (i <= 0) {
          box.replaceChildren(h('div', `The header line “${line.trim()}” is not “Name: value”.`));
          return;
        }
        headers = headers || {};
        headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      const body = {
        smtp: {
          host: f.smtpHost.value.trim(), port: Number(f.smtpPort.value) || 0, tls: f.smtpTLS.value, username: f.smtpUser.value.trim(),
          from: f.smtpFrom.value.trim(), insecureSkipVerify: f.smtpInsecure.checked,
        },
        sms: {
          url: f.smsURL.value.trim(), method: f.smsMethod.value.trim(), body: f.smsBody.value, contentType: f.smsType.value.trim(),
          username: f.smsUser.value.trim(),
        },
      };
      if (headers) body.sms.headers = headers;
      // A password left empty keeps the one set: it is never sent back.
      if (f.smtpPassword.value) body.smtp.password = f.smtpPassword.value;
      if (f.smsPassword.value) body.sms.password = f.smsPassword.value;
      guard(async () => {
        let saved;
        try {
          saved = await api('PUT', '/notify/settings', body);
        } catch (err) {
          showError(box, err);
          return;
        }
        for (const [p, k] of [[f.smtpPassword, 'smtp'], [f.smsPassword, 'sms']]) {
          const has = saved && saved[k] ? !!saved[k].hasPassword : !!p.value || p.dataset.hasPassword === 'true';
          p.value = '';
          p.dataset.hasPassword = String(has);
          p.placeholder = has ? 'set (type to replace)' : 'none';
        }
        if (headers) {
          f.smsHeaders.value = '';
          f.smsHeaders.placeholder = `set: ${Object.keys(headers).join(', ')} (type to replace them all)`;
        }
        form.dataset.saved = String(Date.now());
        toast('Saved the notification providers.', 'ok');
      });
    },
  },
  h('h3', 'E-mail (SMTP)'),
  h('div.grid', field('Host', f.smtpHost), field('Port', f.smtpPort), h('label.field', h('span.label', 'Security'), f.smtpTLS),
    field('Username', f.smtpUser), field('Password', f.smtpPassword, 'Write-only: never shown again.'), field('From', f.smtpFrom)),
  h('label.choice', f.smtpInsecure, h('span', 'Do not check the server’s certificate')),
  h('h3', 'SMS (an HTTP provider)'),
  h('div.grid', field('URL', f.smsURL), field('Method', f.smsMethod), field('Content type', f.smsType),
    field('Username', f.smsUser), field('Password', f.smsPassword, 'Write-only: never shown again.')),
  field('Body template', f.smsBody, 'Go template with {{.To}}, {{.Text}}, {{.Subject}} and {{.Key}} (the idempotency key).'),
  field('Headers', f.smsHeaders, 'Write-only, like the password: they often carry the provider’s key.'),
  box,
  admin ? h('div.row', h('button.primary', { type: 'submit', 'data-save-providers': '' }, 'Save providers')) : null);
  section.append(form);
  return section;
}

// recentSection lists the latest notifications, tests of channels
// included, with how each went.
function recentSection() {
  const body = h('div', { 'data-recent-notifications': '' });
  const load = async () => {
    try {
      body.replaceChildren(notificationsTable(list(await api('GET', '/notifications?limit=10'), 'notifications'), true));
    } catch (err) {
      if (err.handled) throw err;
      body.replaceChildren(h('p.muted', err.message));
    }
  };
  const section = h('section.card', { id: 'notifications', 'data-section': 'notifications' },
    h('div.page-head', h('h2', 'Recent notifications'), h('button.small', { type: 'button', 'data-refresh-notifications': '', onclick: () => guard(load) }, 'Refresh')),
    body);
  return { section, load: () => guard(load), ready: guard(load) };
}

async function channelsSection(admin, notified) {
  const me = session.user.id;
  const body = h('div', { 'data-channels': '' });
  let names = {}; // user id → email
  try {
    for (const m of list(await api('GET', '/members'), 'members')) names[m.user.id] = m.user.email;
  } catch (err) {
    if (err.handled) throw err;
    names = {};
  }
  const who = (c) => (!c.user ? 'workspace' : c.user === me ? 'me' : names[c.user] || c.user);
  const mayChange = (c) => admin || c.user === me;

  const load = async () => {
    let channels;
    try {
      channels = list(await api('GET', '/channels'), 'channels');
    } catch (err) {
      if (err.handled) throw err;
      body.replaceChildren(h('p.muted', err.message));
      return;
    }
    if (!channels.length) {
      body.replaceChildren(empty('No channels', 'Add an e-mail address, a webhook or a phone number below: alerts reach people through them.'));
      return;
    }
    body.replaceChildren(h('div.table-wrap', h('table',
      h('thead', h('tr', ['Kind', 'Target', 'For', 'Routes', 'State', 'Created', ''].map((c) => h('th', c)))),
      h('tbody', channels.map((c) => h('tr', { 'data-channel': c.id, 'data-kind': c.kind, 'data-disabled': String(!!c.disabled) },
        h('td', c.kind),
        h('td.mono', { 'data-target': '' }, c.target, c.hasSecret ? h('small.muted', { 'data-has-secret': '' }, ' (signed)') : null),
        h('td', who(c)),
        h('td', c.user ? h('span.muted', 'what is routed to ' + (c.user === me ? 'me' : 'them'))
          : (c.routes && c.routes.length ? c.routes.map((r) => h('span.chip', r)) : 'all')),
        h('td', h('span.badge', { class: c.disabled ? '' : 'online', 'data-channel-state': c.disabled ? 'disabled' : 'enabled' }, c.disabled ? 'disabled' : 'enabled')),
        h('td', formatTime(c.created)),
        h('td', mayChange(c) ? h('div.row.tight',
          h('button.small', {
            type: 'button', 'data-test-channel': c.id,
            onclick: () => guard(async () => {
              await api('POST', `/channels/${encodeURIComponent(c.id)}/test`);
              toast(`Queued a test notification to ${c.target}; Recent notifications below shows how it went.`, 'ok');
              await notified();
            }),
          }, 'Test'),
          h('button.small', {
            type: 'button', 'data-toggle-channel': c.id,
            onclick: () => guard(async () => {
              await api('PATCH', `/channels/${encodeURIComponent(c.id)}`, { disabled: !c.disabled });
              toast(c.disabled ? 'Enabled the channel.' : 'Disabled the channel.', 'ok');
              await load();
            }),
          }, c.disabled ? 'Enable' : 'Disable'),
          h('button.small.danger-text', {
            type: 'button', 'data-delete-channel': c.id,
            onclick: async () => {
              if (!await confirmDialog(`Delete the channel to ${c.target}?`, 'Alerts stop going to it; the notifications sent through it stay listed.', 'Delete')) return;
              guard(async () => {
                await api('DELETE', `/channels/${encodeURIComponent(c.id)}`);
                toast('Deleted the channel.', 'ok');
                await load();
              });
            },
          }, 'Delete')) : null)))))));
  };
  await load();

  // The form of a new channel.
  const kind = h('select', { 'data-field': 'channel-kind' }, [['email', 'E-mail'], ['webhook', 'Webhook'], ['sms', 'SMS']].map(([v, l]) => h('option', { value: v }, l)));
  const target = h('input', { 'data-field': 'channel-target', required: true });
  const forWhom = h('select', { 'data-field': 'channel-user' },
    admin ? h('option', { value: '' }, 'the workspace') : null, h('option', { value: 'me' }, 'me'),
    admin ? Object.entries(names).filter(([id]) => id !== me).map(([id, email]) => h('option', { value: id }, email)) : null);
  const secret = h('input', { type: 'password', 'data-field': 'channel-secret', autocomplete: 'new-password', placeholder: 'signs each request (HMAC)' });
  const routeBoxes = routes.map(([r, label]) => h('label.choice.inline', h('input', { type: 'checkbox', value: r, 'data-channel-route': r }), h('span', label)));
  const routeSet = h('fieldset', { 'data-channel-routes': '' }, h('legend', 'Routes (none: all)'), routeBoxes);
  const secretField = field('Secret', secret, 'Write-only.');
  const adapt = () => {
    const k = kind.value;
    target.type = k === 'email' ? 'email' : k === 'webhook' ? 'url' : 'tel';
    target.placeholder = k === 'email' ? 'name@example.com' : k === 'webhook' ? 'https://example.com/hooks/runlet' : '+15551234567';
    secretField.hidden = k !== 'webhook';
    routeSet.hidden = forWhom.value !== '';
  };
  kind.addEventListener('change', adapt);
  forWhom.addEventListener('change', adapt);
  adapt();
  const box = errorBox();
  const form = h('form', {
    'data-form': 'channel',
    onsubmit: (ev) => {
      ev.preventDefault();
      box.replaceChildren();
      const req = { kind: kind.value, target: target.value.trim(), user: forWhom.value };
      if (forWhom.value === '') req.routes = routeBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      if (kind.value === 'webhook' && secret.value) req.secret = secret.value;
      guard(async () => {
        try {
          await api('POST', '/channels', req);
        } catch (err) {
          showError(box, err);
          return;
        }
        target.value = secret.value = '';
        for (const l of routeBoxes) l.querySelector('input').checked = false;
        toast('Added the channel.', 'ok');
        await load();
      });
    },
  },
  h('h3', 'Add a channel'),
  h('div.grid', h('label.field', h('span.label', 'Kind'), kind), field('Address, URL or number', target), h('label.field', h('span.label', 'For'), forWhom), secretField),
  routeSet, box,
  h('div.row', h('button.primary', { type: 'submit', 'data-add-channel': '' }, 'Add channel')));
  return h('section.card', { id: 'channels', 'data-section': 'channels' }, h('h2', 'Channels'),
    h('p.muted', 'A channel of the workspace carries every alert of its routes; a person’s own channel carries what is routed to them (as a sensor’s owner, or as an admin).'),
    body, form);
}
