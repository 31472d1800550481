// The settings page: workspace name, members and invitations, enrollment
// tokens with the `runlet @signin` command, and the user's password; the
// alerting settings have a page of their own (alerting.js).
import { api, list, session } from '../api.js';
import { h, field, guard, toast, empty, confirmDialog, copyButton, formatTime, setTitle } from '../ui.js';
import { logKeysSection } from '../logkeys.js';

export async function settingsPage(main) {
  setTitle('Settings');
  const admin = session.role === 'admin' || session.role === 'owner';
  main.append(h('div.page-head', h('h1', 'Settings'),
    h('a.button', { href: '/settings/alerting', 'data-nav-alerting': '' }, 'Alerting: rules, providers, channels →')));
  const sections = [workspaceSection(admin), membersSection(admin), tokensSection(admin), logKeysSection(admin), passwordSection()];
  main.append(...(await Promise.all(sections)));
  if (location.hash) document.querySelector(location.hash)?.scrollIntoView();
}

async function workspaceSection(admin) {
  const name = h('input', { name: 'workspace', required: true, value: session.workspace?.name || '', disabled: !admin, 'data-field': 'workspace' });
  return h('section.card', { id: 'workspace', 'data-section': 'workspace' },
    h('h2', 'Workspace'),
    h('form.inline', {
      onsubmit: (ev) => {
        ev.preventDefault();
        guard(async () => {
          const ws = await api('PATCH', '/workspace', { name: name.value.trim() });
          if (session.workspace) session.workspace.name = ws?.name || name.value.trim();
          const shown = document.querySelector('header.top .ws');
          if (shown) shown.textContent = session.workspace.name;
          toast('Renamed the workspace.', 'ok');
        });
      },
    }, field('Name', name), admin ? h('button', { type: 'submit' }, 'Rename') : h('small.muted', 'Only admins rename the workspace.')));
}

async function membersSection(admin) {
  const body = h('div', { 'data-members': '' });
  const link = h('div.invite-link', { 'data-invite-link': '' });
  const email = h('input', { type: 'email', name: 'email', required: true, placeholder: 'name@example.com', 'data-field': 'invite-email' });
  const role = h('select', { name: 'role', 'data-field': 'invite-role' }, h('option', { value: 'member' }, 'member'), h('option', { value: 'admin' }, 'admin'));
  const load = async () => {
    let members;
    try {
      members = list(await api('GET', '/members'), 'members');
    } catch (err) {
      body.replaceChildren(h('p.muted', err.message));
      return;
    }
    if (!members.length) {
      body.replaceChildren(empty('No members', 'Invite someone by email below.'));
      return;
    }
    const alone = members.every((m) => m.user.id === session.user.id);
    body.replaceChildren(h('div.table-wrap', h('table',
      h('thead', h('tr', ['Name', 'Email', 'Role', 'Since', ''].map((c) => h('th', c)))),
      h('tbody', members.map((m) => h('tr', { 'data-member': m.user.email },
        h('td', m.user.name || '—', m.pending ? h('span.badge', ' invited') : null),
        h('td', m.user.email),
        h('td', m.role),
        h('td', formatTime(m.created)),
        h('td', admin && m.user.id !== session.user.id ? h('button.small.danger-text', {
          type: 'button', 'data-remove-member': m.user.email,
          onclick: async () => {
            if (!await confirmDialog(`Remove ${m.user.email}?`, `${m.user.email} loses access to this workspace.`, 'Remove')) return;
            guard(async () => { await api('DELETE', '/members/' + encodeURIComponent(m.user.id)); toast('Removed.', 'ok'); load(); });
          },
        }, 'Remove') : null)))))),
    ...(alone ? [h('p.muted.only-you', { 'data-only-you': '' }, admin
      ? 'Only you so far. Invite people by email below: each gets a link to choose a password.'
      : 'Only you so far.')] : []));
  };
  await load();
  return h('section.card', { id: 'members', 'data-section': 'members' },
    h('h2', 'Members'), body,
    admin ? h('form.inline', {
      'data-form': 'invite',
      onsubmit: (ev) => {
        ev.preventDefault();
        guard(async () => {
          const r = await api('POST', '/members', { email: email.value.trim(), role: role.value });
          email.value = '';
          if (r.inviteURL) {
            link.replaceChildren(h('p', 'Send this link to the person you invited; it lets them choose a password:'),
              h('div.copy-row', h('code.copyable', { 'data-invite-url': '' }, r.inviteURL), copyButton(r.inviteURL)));
          } else {
            link.replaceChildren();
            toast(`${r.member.user.email} already has an account and is now a member.`, 'ok');
          }
          load();
        });
      },
    }, field('Invite by email', email), h('label.field.short', h('span.label', 'Role'), role), h('button', { type: 'submit' }, 'Invite')) : null,
    link);
}

async function tokensSection(admin) {
  if (!admin) {
    return h('section.card', { id: 'tokens', 'data-section': 'tokens' }, h('h2', 'Enrollment tokens'), h('p.muted', 'Only admins make enrollment tokens.'));
  }
  const body = h('div', { 'data-tokens': '' });
  const fresh = h('div', { 'data-new-token': '' });
  const ttl = h('select', { name: 'ttl', 'data-field': 'token-ttl' },
    [['1h', '1 hour'], ['24h', '1 day'], ['168h', '7 days'], ['720h', '30 days'], ['0', 'always (no expiry)']].map(([v, l]) => h('option', { value: v, selected: v === '24h' ? 'selected' : null }, l)));
  const load = async () => {
    let tokens;
    try {
      tokens = list(await api('GET', '/enrollment-tokens'), 'tokens');
    } catch (err) {
      body.replaceChildren(h('p.muted', err.message));
      return;
    }
    if (!tokens.length) {
      body.replaceChildren(empty('No enrollment tokens', 'An enrollment token signs devices in without a person approving each one: make one and run the command it shows on your machines.'));
      return;
    }
    body.replaceChildren(h('div.table-wrap', h('table',
      h('thead', h('tr', ['Token', 'Created', 'Expires', 'State', ''].map((c) => h('th', c)))),
      h('tbody', tokens.map((t) => h('tr', { 'data-token': t.id },
        h('td.mono', (t.hint || '') + '…', t.bootstrap ? h('small.muted', { title: 'Made on the server’s first start (DATA/enroll-token)' }, ' first start') : null),
        h('td', formatTime(t.created)),
        h('td', t.expires ? formatTime(t.expires) : 'never'),
        h('td', t.expires && new Date(t.expires) < new Date() ? h('span.badge', { 'data-token-state': 'expired' }, 'expired')
          : t.revoked ? h('span.badge.offline', { 'data-token-state': 'revoked' }, 'revoked')
            : h('span.badge.online', { 'data-token-state': 'active' }, 'active')),
        h('td', t.revoked ? null : h('button.small.danger-text', {
          type: 'button', 'data-revoke': t.id,
          onclick: async () => {
            if (!await confirmDialog('Revoke this token?', 'Devices can no longer sign in with it; devices already signed in stay.', 'Revoke')) return;
            guard(async () => {
              await api('DELETE', '/enrollment-tokens/' + encodeURIComponent(t.id));
              if (fresh.dataset.newToken === t.id) { // its command no longer works
                fresh.replaceChildren();
                fresh.dataset.newToken = '';
              }
              toast('Revoked.', 'ok');
              load();
            });
          },
        }, 'Revoke'))))))));
  };
  await load();
  return h('section.card', { id: 'tokens', 'data-section': 'tokens' },
    h('h2', 'Enrollment tokens'), body,
    h('form.inline', {
      'data-form': 'token',
      onsubmit: (ev) => {
        ev.preventDefault();
        guard(async () => {
          const r = await api('POST', '/enrollment-tokens', { ttl: ttl.value });
          fresh.dataset.newToken = r.id;
          fresh.replaceChildren(
            h('p', 'Run this on each machine to sign it in (the token is shown only now; replace NAME with the device’s name):'),
            h('div.copy-row', h('code.copyable', { 'data-signin-command': '' }, r.command), copyButton(r.command)));
          load();
        });
      },
    }, h('label.field.short', h('span.label', 'Valid for'), ttl), h('button', { type: 'submit', 'data-create-token': '' }, 'Create token')),
    fresh);
}

async function passwordSection() {
  const current = h('input', { type: 'password', name: 'current', autocomplete: 'current-password', required: true, 'data-field': 'current-password' });
  const next = h('input', { type: 'password', name: 'new', autocomplete: 'new-password', minlength: 8, required: true, placeholder: 'at least 8 characters', 'data-field': 'new-password' });
  return h('section.card', { id: 'password', 'data-section': 'password' },
    h('h2', 'My password'),
    h('form.inline', {
      'data-form': 'password',
      onsubmit: (ev) => {
        ev.preventDefault();
        guard(async () => {
          await api('PUT', '/user/password', { current: current.value, new: next.value }, { quiet401: true });
          current.value = next.value = '';
          toast('Changed your password.', 'ok');
        });
      },
    }, field('Current password', current), field('New password', next), h('button', { type: 'submit' }, 'Change password')));
}
