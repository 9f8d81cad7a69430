// A hall teaches its own heads: the teach panel of an event (yes/no per staff crop and behaviour, the
// state of each window), the Train button with its progress, and the window-state candidates.
(function () {
  'use strict';
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const hm = window.hmTeach = {labelled: 0, polls: 0};

  async function send(url, body) {
    const r = await fetch(url, {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf},
      body: JSON.stringify(body || {})});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((data.error && data.error.message) || r.statusText);
    return data;
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children || []) if (c) e.appendChild(c);
    return e;
  }

  // ---- the teach panel of one event ----
  const panel = document.getElementById('teach');
  if (panel) {
    const text = JSON.parse(panel.dataset.text);
    const box = document.getElementById('teach-crops');

    function choices(behaviour, values, current, target) {
      const row = el('div', {class: 'choice row', 'data-behaviour': behaviour},
                     [el('span', {class: 'choice-name', text: text.b[behaviour]})]);
      for (const v of values) {
        const on = current && current.value === v;
        const b = el('button', {type: 'button', class: 'small' + (on ? ' primary on' : ''), 'data-value': v,
                                text: text.v[v]});
        if (on) b.title = text.by + ' ' + current.by + ' · ' + current.at;
        b.addEventListener('click', async function () {
          const value = b.classList.contains('on') ? null : v;     // a second click clears the label
          row.querySelectorAll('button').forEach((x) => { x.disabled = true; });
          try {
            const res = await send(panel.dataset.label, Object.assign({behaviour: behaviour, value: value}, target));
            row.querySelectorAll('button').forEach((x) => {
              const picked = res.label && x.dataset.value === res.label.value;
              x.classList.toggle('on', picked); x.classList.toggle('primary', picked);
              x.title = picked ? text.by + ' ' + res.label.labelled_by + ' · ' + res.label.labelled_at : '';
            });
            hm.labelled += 1;
            row.dataset.saved = value === null ? '' : value;
          } catch (err) {
            row.appendChild(el('span', {class: 'error small', text: text.failed + ': ' + err.message}));
          } finally {
            row.querySelectorAll('button').forEach((x) => { x.disabled = false; });
          }
        });
        row.appendChild(b);
      }
      return row;
    }

    fetch(panel.dataset.view, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then((r) => r.json().then((d) => ({ok: r.ok, status: r.status, d: d})))
      .then(({ok, status, d}) => {
        box.textContent = '';
        if (!ok) {   // the page's words (the API's English reason is for scripts: d.error.message)
          box.appendChild(el('p', {class: 'muted', text: status === 404 && text.noframe ? text.noframe : text.failed}));
          return;
        }
        if (!d.persons.length) box.appendChild(el('p', {class: 'muted', text: text.none}));
        for (const p of d.persons) {
          const fig = el('figure', {class: 'crop', 'data-person': p.index},
                         [el('img', {src: panel.dataset.person + p.index + '.jpg', alt: 'person ' + p.index})]);
          const cap = el('figcaption');
          for (const b of d.behaviours) cap.appendChild(choices(b.behaviour, b.values, p.labels[b.behaviour], {person: p.index}));
          fig.appendChild(cap);
          box.appendChild(fig);
        }
        for (const w of d.windows) {
          const fig = el('figure', {class: 'crop window', 'data-window': w.window_id},
                         [el('img', {src: panel.dataset.window + encodeURIComponent(w.window_id) + '.jpg', alt: w.name})]);
          const cap = el('figcaption', {}, [el('strong', {text: w.name})]);
          cap.appendChild(choices('window_state', d.window_states, w.label, {window: w.window_id}));
          fig.appendChild(cap);
          box.appendChild(fig);
        }
        panel.dataset.ready = '1';
      });
  }

  // ---- the Train button and its progress ----
  const train = document.getElementById('train');
  if (train) {
    const bar = document.getElementById('train-progress');
    const state = document.getElementById('train-state');

    async function poll(runUrl) {
      hm.polls += 1;
      const r = await fetch(runUrl, {credentials: 'same-origin', headers: {'Accept': 'application/json'}});
      const run = (await r.json()).run;
      if (!run) return;
      bar.hidden = false;
      bar.value = run.progress;
      state.textContent = state.dataset[run.status] + (run.stage ? ' · ' + run.stage : '')
        + (run.status !== 'running' && run.message ? ' · ' + run.message : '');
      if (run.status === 'running') { setTimeout(() => poll(runUrl), 400); return; }
      train.disabled = false;
      hm.finished = run.status;
      if (run.status === 'done') location.reload();
    }

    train.addEventListener('click', async function () {
      train.disabled = true;
      try {
        const res = await send(train.dataset.url, {});
        bar.hidden = false; bar.value = 0;
        poll(train.dataset.runUrl.replace(/latest$/, String(res.run.id)));
      } catch (err) {
        state.textContent = state.dataset.failed + ': ' + err.message;
        train.disabled = false;
      }
    });
    if (train.dataset.running) poll(train.dataset.runUrl);
  }

  // ---- window-state candidates: confirm, correct or drop ----
  document.querySelectorAll('[data-candidate]').forEach(function (fig) {
    fig.querySelectorAll('button').forEach(function (b) {
      b.addEventListener('click', async function () {
        try {
          await send('/api/teach/candidates/' + fig.dataset.candidate, {value: b.dataset.value || null});
          fig.remove();
        } catch (err) {
          fig.appendChild(el('span', {class: 'error small', text: err.message}));
        }
      });
    });
  });
})();
