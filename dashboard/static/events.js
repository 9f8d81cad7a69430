// The events list's bulk review: pick rows (or all shown), then one POST /api/events/review.
(function () {
  'use strict';
  const form = document.getElementById('bulk');
  if (!form) return;
  const T = JSON.parse(form.dataset.text);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const all = document.getElementById('select-all');
  const count = document.getElementById('bulk-count');
  const result = document.getElementById('bulk-result');
  const picks = Array.from(document.querySelectorAll('input.pick'));
  const acts = Array.from(form.querySelectorAll('button.bulk-act'));

  function chosen() { return picks.filter(p => p.checked).map(p => p.value); }
  function refresh() {
    const n = chosen().length;
    count.textContent = count.dataset.text.replace('{n}', n);
    acts.forEach(b => { b.disabled = n === 0; });
    all.checked = n > 0 && n === picks.length;
    all.indeterminate = n > 0 && n < picks.length;
  }
  picks.forEach(p => { p.onchange = refresh; });
  all.onchange = function () { picks.forEach(p => { p.checked = all.checked; }); refresh(); };

  async function send(ids, status) {
    if (!ids.length) { result.textContent = T.none; return; }
    const buttons = Array.from(form.querySelectorAll('button'));
    buttons.forEach(b => { b.disabled = true; });
    result.className = '';
    try {
      const r = await fetch('/api/events/review', {
        method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf},
        body: JSON.stringify({ids: ids, status: status, comment: document.getElementById('bulk-comment').value || null})});
      if (r.status === 401) { window.location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search)); return; }
      const body = await r.json();
      if (!r.ok) throw new Error((body.error && body.error.message) || r.status);
      body.events.forEach(function (ev) {
        const row = document.querySelector('tr[data-id="' + CSS.escape(ev.id) + '"]');
        if (!row) return;
        const span = row.querySelector('.review-cell .status');
        span.className = 'status status-' + ev.review_status;
        span.textContent = T.review[ev.review_status] || ev.review_status;
        row.querySelector('input.pick').checked = false;
      });
      result.textContent = T.done[body.reviewed === 1 ? 'one' : 'other'].replace('{n}', body.reviewed).replace('{status}', T.review[status]);
    } catch (err) {
      result.className = 'error';
      result.textContent = T.failed + ': ' + err.message;
    } finally {
      buttons.forEach(b => { b.disabled = false; });
      refresh();
    }
  }
  acts.forEach(function (b) { b.onclick = function () { send(chosen(), b.dataset.status); }; });
  document.getElementById('bulk-all').onclick = function () {
    if (window.confirm(T.confirm_all[picks.length === 1 ? 'one' : 'other'].replace('{n}', picks.length))) send(picks.map(p => p.value), 'resolved');
  };
  refresh();
})();
