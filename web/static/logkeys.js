// logkeys.js: the settings page's "Run logs" section (R-LOG-1, R-LOG-2):
// the workspace's log key generations (the public recipients devices
// encrypt to; the private halves stay sealed with the log passphrase, which
// the server cannot open) and how long logs are kept. The first key can be
// made here by an admin (in the page, as `runlet keys init` does on a
// machine); rotation is the CLI's (`runlet keys rotate`).
import { api, list } from './api.js';
import { h, field, guard, toast, formatTime } from './ui.js';
import { Encrypter, armor, generateX25519Identity, identityToRecipient } from './vendor/age-encryption/age-encryption/dist/index.js';

// MIN_PASSPHRASE is the shortest log passphrase (as `runlet keys init`).
const MIN_PASSPHRASE = 12;

// makeFirstKey makes the workspace's first log key here, in the page
// (R-LOG-1: never on the server): an age X25519 identity, sealed with the
// passphrase (age scrypt, armored, as castlog.Seal does); the server gets
// the public recipient and the sealed text only.
async function makeFirstKey(passphrase) {
  const id = await generateX25519Identity();
  const recipient = await identityToRecipient(id);
  const e = new Encrypter();
  e.setPassphrase(passphrase);
  const sealed = armor.encode(await e.encrypt(id + '\n'));
  return api('POST', '/logkeys', { after: 0, recipient, sealed });
}

// firstKeyForm asks an admin for the new passphrase twice and makes the
// key; done is called once the server has it.
function firstKeyForm(done) {
  const pass = h('input', { type: 'password', autocomplete: 'new-password', required: true, 'data-field': 'logkey-passphrase', 'aria-label': 'New log passphrase' });
  const again = h('input', { type: 'password', autocomplete: 'new-password', required: true, 'data-field': 'logkey-confirm', 'aria-label': 'The passphrase again' });
  const error = h('p.form-error', { 'data-logkey-error': '', role: 'alert' });
  const submit = h('button.primary', { type: 'submit', 'data-logkey-create': '' }, 'Make the log key');
  return h('form.log-unlock', {
    'data-logkey-init': '',
    onsubmit: (ev) => {
      ev.preventDefault();
      error.textContent = '';
      if (pass.value.length < MIN_PASSPHRASE) {
        error.textContent = `Choose a passphrase of at least ${MIN_PASSPHRASE} characters.`;
        return;
      }
      if (pass.value !== again.value) {
        error.textContent = 'The two passphrases differ.';
        return;
      }
      submit.disabled = true;
      submit.textContent = 'Making the key…';
      // Let the button's text show before scrypt holds the page.
      requestAnimationFrame(() => setTimeout(async () => {
        try {
          await makeFirstKey(pass.value);
          pass.value = again.value = '';
          toast('Made the workspace\'s log key: devices encrypt new runs\' logs to it.', 'ok');
          done();
        } catch (err) {
          error.textContent = err.message;
          submit.disabled = false;
          submit.textContent = 'Make the log key';
        }
      }, 0));
    },
  },
  h('p', 'Or make it here: the key is made in this page and its private half sealed with the passphrase you choose; the server gets the public half and the sealed text only. Keep the passphrase safe: it cannot be recovered, and without it no log can be read.'),
  h('div.row.tight', pass, again, submit), error);
}

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
        admin ? ['Make the first key with ', h('code', 'runlet keys init'), ' (it asks for the log passphrase).'] : 'An admin makes the first key with runlet keys init.'),
      ...(admin ? [firstKeyForm(load)] : []));
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
