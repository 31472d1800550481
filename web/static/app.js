// app.js: the entry point of Runlet's web UI. It checks the session, draws
// the header and routes paths to pages (navigation itself is router.js's).
// A page is a function (main, params) that fills main and may return a
// function to call when the person leaves it (to stop polling, close
// WebSockets).

import { loadSession, session, signOut, setUnauthorizedHandler } from './api.js';
import { h, toast, guard } from './ui.js';
import { navigate, startRouting } from './router.js';
import { loginPage } from './pages/login.js';
import { jobsPage } from './pages/jobs.js';
import { devicesPage } from './pages/devices.js';
import { activityPage } from './pages/activity.js';
import { executionPage } from './pages/execution.js';
import { settingsPage } from './pages/settings.js';
import { approvalPage } from './pages/approval.js';
import { invitePage } from './pages/invite.js';
import { sensorsPage } from './pages/sensors.js';
import { sensorPage } from './pages/sensor.js';
import { alertsPage, alertPage } from './pages/alerts.js';
import { alertingPage } from './pages/alerting.js';

// routes: path pattern → page, and whether it needs a signed-in user.
const routes = [
  { path: /^\/login$/, page: loginPage, open: true },
  { path: /^\/invite$/, page: invitePage, open: true },
  { path: /^\/jobs$/, page: jobsPage, nav: 'jobs' },
  { path: /^\/devices$/, page: devicesPage, nav: 'devices' },
  { path: /^\/activity$/, page: activityPage, nav: 'activity' },
  { path: /^\/executions\/([^/]+)$/, page: executionPage, nav: 'activity' },
  { path: /^\/sensors$/, page: sensorsPage, nav: 'sensors' },
  { path: /^\/sensors\/(\d+)$/, page: sensorPage, nav: 'sensors' },
  { path: /^\/alerts$/, page: alertsPage, nav: 'alerts' },
  { path: /^\/alerts\/(\d+)$/, page: alertPage, nav: 'alerts' },
  { path: /^\/settings$/, page: settingsPage, nav: 'settings' },
  { path: /^\/settings\/alerting$/, page: alertingPage, nav: 'settings' },
  { path: /^\/device$/, page: approvalPage },
];

let leave = null; // the current page's cleanup

// signInFirst sends the person to sign in, coming back here afterwards.
function signInFirst() {
  const here = location.pathname + location.search;
  navigate('/login' + (here !== '/' && !here.startsWith('/login') ? '?next=' + encodeURIComponent(here) : ''), { replace: true });
}
setUnauthorizedHandler(() => {
  if (location.pathname !== '/login') {
    toast('Your session has ended; sign in again.', 'info');
    signInFirst();
  }
});

function header(active) {
  const link = (href, label, key) => h('a', { href, 'data-nav': key, 'aria-current': active === key ? 'page' : null }, label);
  return h('header.top',
    h('a.brand', { href: '/jobs' }, h('span.logo', { 'aria-hidden': 'true' }, 'λ'), 'Runlet'),
    h('nav', { 'aria-label': 'Main' },
      link('/jobs', 'Jobs', 'jobs'), link('/activity', 'Activity', 'activity'),
      link('/devices', 'Devices', 'devices'), link('/sensors', 'Sensors', 'sensors'), link('/alerts', 'Alerts', 'alerts'),
      link('/settings', 'Settings', 'settings')),
    h('div.who',
      h('span.ws', { title: 'Workspace' }, session.workspace ? session.workspace.name : ''),
      h('span.user', { 'data-user': session.user.email }, session.user.email),
      h('button.small', {
        type: 'button', 'data-signout': '',
        onclick: () => guard(async () => { await signOut(); navigate('/login', { replace: true }); }),
      }, 'Sign out')));
}

async function render() {
  if (leave) {
    try { leave(); } catch { /* a page's cleanup must not stop the next page */ }
    leave = null;
  }
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return navigate('/jobs', { replace: true });
  const route = routes.find((r) => r.path.test(path));
  const root = document.getElementById('app');
  if (!route) {
    root.replaceChildren(h('main.page', h('div.empty', h('h3', 'No such page'), h('p', h('a', { href: '/jobs' }, 'Go to the jobs')))));
    return;
  }
  if (!route.open && !session) return signInFirst();
  const params = [...path.match(route.path)].slice(1).map(decodeURIComponent);
  const main = h('main.page', { 'data-page': route.page.name.replace(/Page$/, '') });
  root.replaceChildren(...(route.open || !session ? [] : [header(route.nav)]), main);
  try {
    leave = (await route.page(main, params, new URLSearchParams(location.search))) || null;
  } catch (err) {
    if (!err.handled) toast(err.message || String(err));
  }
  // A page that did not put the keyboard somewhere (a form's first field,
  // the terminal) gets it at its title, so that Tab starts from the page
  // and a screen reader announces it, not from the link just replaced.
  if (main.isConnected && (document.activeElement === document.body || !document.activeElement)) {
    const title = main.querySelector('h1');
    if (title) {
      title.tabIndex = -1;
      title.focus({ preventScroll: true });
    }
  }
}

startRouting(render);

async function start() {
  try {
    await loadSession();
  } catch (err) {
    toast(err.message);
  }
  await render();
}
start();
