// run.js: the Run dialog — where the job runs (all, any, or devices picked
// from the list; never "local", which means the browser's own machine) and
// its arguments. Starting the run opens its execution page.
import { api, list } from '../api.js';
import { h, modal, ago } from '../ui.js';
import { navigate } from '../router.js';

export async function runDialog(job) {
  const devicesBox = h('fieldset.devices-pick', { 'data-device-picker': '' }, h('legend', 'Devices'), h('p.muted', 'Loading devices…'));
  const initial = ['all', 'any', 'custom'].includes(job.where) ? job.where : 'all';
  const radio = (value, label, hint) => h('label.choice',
    h('input', { type: 'radio', name: 'where', value, checked: value === initial, 'data-where': value }),
    h('span', h('strong', label), h('small.muted', hint)));
  const args = h('input', { name: 'args', placeholder: 'optional, separated by spaces', autocomplete: 'off', 'data-field': 'args' });
  const error = h('p.form-error', { role: 'alert', 'data-form-error': '' });
  const start = h('button.primary', { type: 'submit', 'data-start': '' }, '▶ Run');
  const form = h('form', {
    'data-form': 'run',
    onsubmit: async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const where = form.querySelector('input[name=where]:checked').value;
      const body = { job: job.name, where };
      const a = args.value.trim();
      if (a) body.args = a.split(/\s+/);
      if (where === 'custom') {
        body.on = [...devicesBox.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
        if (!body.on.length) {
          error.textContent = 'Pick at least one device.';
          return;
        }
      }
      start.disabled = true;
      try {
        const r = await api('POST', '/runs', body);
        d.close();
        navigate('/executions/' + encodeURIComponent(r.execution));
      } catch (err) {
        error.textContent = err.message;
        start.disabled = false;
      }
    },
  },
  job.description ? h('p.muted', job.description) : null,
  h('fieldset.where', h('legend', 'Where'),
    radio('all', 'All devices', 'every device of the workspace'),
    radio('any', 'Any device', 'the least busy online device'),
    radio('custom', 'Devices I pick', 'choose below')),
  devicesBox,
  h('label.field', h('span.label', 'Arguments'), args),
  error,
  h('div.row.end', h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), start));
  const d = modal(`Run ${job.name}`, form);
  d.dataset.dialog = 'run';
  start.focus();

  const toggle = () => {
    const custom = form.querySelector('input[name=where]:checked').value === 'custom';
    devicesBox.classList.toggle('dim', !custom);
  };
  form.addEventListener('change', (ev) => {
    if (ev.target.type === 'checkbox' && ev.target.checked) form.querySelector('input[value=custom]').checked = true;
    toggle();
  });
  try {
    const devices = list(await api('GET', '/devices'), 'devices');
    const chosen = new Set(job.where === 'custom' ? (job.whereCustom || []).flatMap((s) => s.split(',').map((x) => x.trim())) : []);
    devicesBox.replaceChildren(h('legend', 'Devices'),
      ...(devices.length ? devices.map((dev) => h('label.choice.device', { 'data-pick': dev.name },
        h('input', { type: 'checkbox', value: dev.name, checked: chosen.has(dev.name), 'data-pick-device': dev.name }),
        h('span.dot', { class: dev.online ? 'on' : 'off', title: dev.online ? 'online' : 'offline' }),
        h('span', dev.name),
        h('small.muted', dev.online ? 'online' : 'offline, seen ' + ago(dev.lastSeen))))
        : [h('p.muted', 'No device is signed in yet: add one in Settings → Enrollment tokens.')]));
  } catch (err) {
    devicesBox.replaceChildren(h('legend', 'Devices'), h('p.form-error', err.message));
  }
  toggle();
}
