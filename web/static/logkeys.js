// logkeys.js: the settings page's "Run logs" section (R-LOG-1, R-LOG-2):
// the workspace's log key generations (the public recipients devices
// encrypt to; the private halves stay sealed with the log passphrase, which
// the server cannot open) and how long logs are kept. Keys are made and
// rotated with the CLI (`runlet keys init`, `runlet keys rotate`).
import { api, list } from './api.js';
import { h, field, guard, toast, formatTime } from './ui.js';

export async function logKeysSection(admin) {
  const body = h('div', { 'data-logkeys': '' });
  const retention = h('input', { name: 'retention', disabled: !admin, 'data-field': 'log-retention', placeholder: '90d', size: 8 });
  const load = async () => {
    let keys, settings;
    try {
      [keys, settings] = await Promise.all([api('GET', '/logkeys'), api('GET', '/logs/settings')]);
    } catch (err) {
      body.replaceChildren(h('p.muted', err.message));
      return;
    }
    keys = list(keys, 'keys');
    retention.value = settings && settings.retention && settings.retention !== '0s' ? settings.retention : '';
    if (!keys.length) {
      body.replaceChildren(h('p', { 'data-logkeys-none': '' },
        'This workspace has no log key yet: runs stay on their devices, unencrypted, and are not uploaded. ',
        admin ? ['Make the first key with ', h('code', 'runlet keys init'), ' (it asks for the log passphrase).'] : 'An admin makes the first key with runlet keys init.'));
      return;
    }
    const active = keys[keys.length - 1].generation;
    body.replaceChildren(h('div.table-wrap', h('table',
      h('thead', h('tr', ['Generation', 'Recipient (public key)', 'Made', ''].map((c) => h('th', c)))),
      h('tbody', [...keys].reverse().map((k) => h('tr', { 'data-logkey': k.generation },
        h('td', String(k.generation)),
        h('td.mono', { title: k.recipient }, k.recipient.slice(0, 16) + '…' + k.recipient.slice(-6)),
        h('td', formatTime(k.created)),
        h('td', k.generation === active ? h('span.badge.online', 'active') : h('span.muted', 'older logs'))))))),
    h('p.muted', 'Devices encrypt new logs to the active key. Each key\'s private half is stored sealed with the log passphrase, which only people know: ',
      admin ? ['rotate it with ', h('code', 'runlet keys rotate'), ' when someone who knew the passphrase leaves.'] : 'an admin rotates it when someone who knew it leaves.'));
  };
  const form = h('form.inline', {
    onsubmit: (ev) => {
      ev.preventDefault();
      guard(async () => {
        await api('PUT', '/logs/settings', { retention: retention.value.trim() || '0s' });
        toast('Saved the log retention.', 'ok');
        load();
      });
    },
  }, field('Keep logs for', retention, 'on the server and on the devices; empty: 90 days'),
  admin ? h('button', { type: 'submit', 'data-save-retention': '' }, 'Save') : null);
  await load();
  return h('section.card', { id: 'logs', 'data-section': 'logkeys' }, h('h2', 'Run logs'), body, form);
}
