// The device sign-in approval page (RFC 8628 verification URI): shows the
// device that asks to join and its code, and approves or denies it.
import { api } from '../api.js';
import { h, field, setTitle, toast, empty } from '../ui.js';
import { navigate } from '../router.js';

export async function approvalPage(main, _, params) {
  setTitle('Approve a device');
  main.classList.add('center');
  const code = (params.get('code') || params.get('user_code') || '').trim().toUpperCase();
  if (!code) {
    const input = h('input', { name: 'code', placeholder: 'XXXX-XXXX', autocomplete: 'off', required: true, 'data-field': 'code' });
    main.append(h('form.card.narrow', {
      onsubmit: (ev) => { ev.preventDefault(); navigate('/device?code=' + encodeURIComponent(input.value.trim().toUpperCase())); },
    }, h('h1', 'Sign in a device'), h('p.muted', 'Type the code that `runlet @signin` shows on the device.'), field('Code', input), h('button.primary', { type: 'submit' }, 'Continue')));
    input.focus();
    return;
  }
  let info;
  try {
    info = await api('GET', '/device/approval?code=' + encodeURIComponent(code));
  } catch (err) {
    if (err.status === 401) return;
    main.append(empty('This code cannot be approved', err.status === 404 ? `No device is waiting with code ${code}: it may have expired. Run \`runlet @signin\` again on the device.` : err.message, h('a.button', { href: '/devices' }, 'Devices')));
    return;
  }
  const result = h('p.result', { 'data-approval-result': '' });
  const decide = async (action) => {
    for (const b of buttons.querySelectorAll('button')) b.disabled = true;
    try {
      const r = await api('POST', '/device/approval', { code, action });
      const approved = (r && r.status) === 'approved';
      result.textContent = approved
        ? `${info.device} is signed in to this workspace. You can close this page; the device continues on its own.`
        : `${info.device} was not let in.`;
      result.dataset.approvalResult = approved ? 'approved' : 'denied';
      buttons.remove();
    } catch (err) {
      toast(err.message);
      for (const b of buttons.querySelectorAll('button')) b.disabled = false;
    }
  };
  const approve = h('button.primary', { type: 'button', 'data-approve': '', onclick: () => decide('approve') }, 'Approve');
  const buttons = h('div.row.end', h('button.danger', { type: 'button', 'data-deny': '', onclick: () => decide('deny') }, 'Deny'), approve);
  main.append(h('section.card.narrow', { 'data-approval': info.code || code },
    h('h1', 'Sign in a device?'),
    h('p', 'A device asks to join this workspace. Approve only if you started ', h('code', 'runlet @signin'), ' on it and it shows this code.'),
    h('dl.facts',
      h('dt', 'Device'), h('dd', { 'data-approval-device': '' }, h('strong', info.device)),
      h('dt', 'Code'), h('dd', h('code.big', { 'data-approval-code': '' }, info.code || code)),
      info.os ? [h('dt', 'System'), h('dd', `${info.os}${info.arch ? ' / ' + info.arch : ''}`)] : null),
    buttons, result));
  approve.focus();
}
