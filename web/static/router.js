// router.js: navigation in Runlet's web UI — navigate, the history entries
// it makes, links inside the app and the back button. It imports no page,
// so pages import it (and never app.js); app.js, which imports the pages,
// hands it the function that draws the page of the current path.

// render draws the page of location; app.js sets it with startRouting.
let render = () => {};

// navigate goes to an app path without reloading.
export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render();
}

// startRouting makes draw the page renderer, and has links inside the app
// and the back and forward buttons change the page without a reload.
export function startRouting(draw) {
  render = draw;
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a[href]');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target || a.hasAttribute('download')) return; // a download is no page
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/')) return;
    ev.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener('popstate', render);
}
