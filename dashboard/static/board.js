// The board: window tiles and the alert feed, both pushed by the server over Server-Sent Events
// (/events/stream). Nothing here polls: the tiles' "for 5 min" counters tick locally.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('hm-data').textContent);
  const T = data.text;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const list = document.getElementById('alerts');
  const tilesBox = document.getElementById('tiles');
  const streamState = document.getElementById('stream-state');
  const alerts = new Map();          // event id -> {data, el}
  const MAX_ALERTS = 80;
  window.hmBoard = {received: 0, reviews: 0, alerts: alerts, lastId: data.lastId};

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function fmtDuration(sec) {
    sec = Math.max(0, Math.round(sec));
    const h = Math.floor(sec / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60, U = T.unit;
    if (h) return (h + U.h + m + U.m).trim();
    if (m) return (m + U.m + s + U.s).trim();
    return (s + U.s).trim();
  }

  // ---- tiles ----
  function tickTiles() {
    const now = Date.now();
    tilesBox.querySelectorAll('.tile-since').forEach(function (span) {
      const since = span.dataset.since;
      span.textContent = since ? T.for.replace('{d}', fmtDuration((now - Date.parse(since)) / 1000)) : '';
    });
  }

  // ---- pause and resume a window (暂停服务), through the API the queue caller uses ----
  const pauseDialog = document.getElementById('pause-dialog');
  let pausing = null;                  // the window the dialog is for
  window.hmBoard.pauses = 0;

  async function windowAction(windowId, action, body) {
    const r = await fetch('/api/windows/' + encodeURIComponent(windowId) + '/' + action, {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf},
      body: JSON.stringify(body || {})});
    if (r.status === 401) { toLogin(); return null; }
    const data = await r.json();
    if (!r.ok) throw new Error((data.error && data.error.message) || r.status);
    window.hmBoard.pauses += 1;
    return data;
  }

  function pauseButton(tile) {
    if (!data.canReview) return null;
    const b = el('button', 'small ' + (tile.paused ? 'tile-resume' : 'tile-pause'),
                 (tile.paused ? '▶ ' + T.resume : T.pause));
    b.type = 'button';
    b.dataset.window = tile.window_id;
    return b;
  }

  tilesBox.addEventListener('click', async function (ev) {
    const b = ev.target.closest('button.tile-pause, button.tile-resume');
    if (!b) return;
    const name = (tilesBox.querySelector('.tile[data-window="' + CSS.escape(b.dataset.window) + '"] .tile-name') || {}).textContent || '';
    if (b.classList.contains('tile-pause')) {
      pausing = b.dataset.window;
      document.getElementById('pause-title').textContent = T.pause + ' · ' + name;
      document.getElementById('pause-error').hidden = true;
      pauseDialog.showModal();
      return;
    }
    b.disabled = true;
    try { await windowAction(b.dataset.window, 'resume'); }
    catch (err) { b.disabled = false; b.title = T.failed + ': ' + err.message; }
  });
  if (pauseDialog) {
    const form = document.getElementById('pause-form');
    form.querySelector('.cancel').onclick = function () { pauseDialog.close(); };
    form.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      const error = document.getElementById('pause-error');
      try {
        await windowAction(pausing, 'pause', {minutes: Number(form.elements.minutes.value),
                                              reason: form.elements.reason.value || null});
        pauseDialog.close();
        form.elements.reason.value = '';
      } catch (err) { error.textContent = T.failed + ': ' + err.message; error.hidden = false; }
    });
  }

  function renderTiles(tiles) {
    tilesBox.replaceChildren(...tiles.map(function (tile) {
      const box = el('div', 'tile-box');
      box.dataset.box = tile.window_id;
      const a = el('a', 'tile state-' + tile.state);
      a.href = '/events?window=' + encodeURIComponent(tile.window_id);
      a.dataset.window = tile.window_id;
      a.append(el('span', 'tile-name', tile.name), el('span', 'tile-state', T.state[tile.state] || tile.state));
      const since = el('span', 'tile-since'); since.dataset.since = tile.since || '';
      const types = el('span', 'tile-types');
      tile.active_types.forEach(function (ty) { types.append(el('span', 'chip', T.types[ty] || ty)); });
      const cam = el('span', 'tile-cam', tile.camera_name);
      if (tile.node) cam.append(el('span', 'tile-node', ' · ' + T.watchedBy.replace('{node}', tile.node)));
      else if (tile.unwatched) cam.append(el('span', 'tile-node unwatched', ' · ' + T.noNode));
      a.append(since, cam, types);
      if (tile.staff) {   // who the open alert names as on duty (the rota)
        a.append(el('span', 'tile-staff', T.onDutyAs.replace('{name}', tile.staff.name).replace('{number}', tile.staff.number)));
      }
      box.append(a);
      const b = pauseButton(tile);
      if (b) box.append(b);
      return box;
    }));
    tickTiles();
  }

  // ---- alerts ----
  function fill(item, a) {
    const e = item.el;
    e.className = 'alert sev-' + a.severity + ' phase-' + a.phase + ' rs-' + a.review_status;
    e.querySelector('.a-sev').textContent = T.severity[a.severity];
    e.querySelector('.a-sev').className = 'a-sev sev sev-' + a.severity;
    e.querySelector('.a-title').textContent = a.display.title;
    e.querySelector('.a-where').textContent = a.display.where;
    const meta = [a.display.time, T.phase[a.phase]];
    if (a.duration_s) meta.push(fmtDuration(a.duration_s));
    e.querySelector('.a-meta').textContent = meta.join(' · ');
    const staff = e.querySelector('.a-staff');
    staff.textContent = a.display.staff || '';
    staff.hidden = !a.display.staff;
    const st = e.querySelector('.a-status');
    st.textContent = T.review[a.review_status] + (a.reviewed_by && a.review_status !== 'new' ? ' · ' + T.by + ' ' + a.reviewed_by : '');
    st.className = 'a-status status status-' + a.review_status;
    e.querySelector('.a-comment').textContent = a.review_comment || '';
    const img = e.querySelector('.a-thumb img');
    if (a.snapshot && img && !img.getAttribute('src')) img.src = '/events/' + encodeURIComponent(a.id) + '/snapshot.jpg?thumb=1';
  }

  function openReview(item, status, button) {
    const box = item.el.querySelector('.a-form');
    box.replaceChildren(document.getElementById('review-form-tpl').content.cloneNode(true));
    const form = box.querySelector('form');
    form.querySelector('button[type=submit]').textContent = T.act[status];
    form.dataset.status = status;
    form.querySelector('.cancel').onclick = function () { box.replaceChildren(); };
    form.onsubmit = async function (ev) {
      ev.preventDefault();
      const comment = form.querySelector('textarea').value;
      form.querySelectorAll('button').forEach(b => { b.disabled = true; });
      try {
        const r = await fetch('/events/' + encodeURIComponent(item.data.id) + '/review', {
          method: 'POST', credentials: 'same-origin',
          headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf},
          body: JSON.stringify({status: status, comment: comment})});
        if (r.status === 401) { toLogin(); return; }      // the session ended: log in again, then come back
        const body = await r.json();
        if (!r.ok) throw new Error((body.error && body.error.message) || r.status);
        item.data = Object.assign(item.data, body);
        fill(item, item.data);
        box.replaceChildren();
        if (status === 'false_positive') {      // the alert was wrong: offer at once to teach the heads
          const teach = el('a', 'teach-link', T.teach);
          teach.href = '/events/' + encodeURIComponent(item.data.id) + '?teach=fp#teach';
          box.append(teach);
        }
      } catch (err) {
        box.append(el('p', 'error', T.failed + ': ' + err.message));
        form.querySelectorAll('button').forEach(b => { b.disabled = false; });
      }
    };
    form.querySelector('textarea').focus();
  }

  function build(a) {
    const li = el('li');
    li.dataset.id = a.id;
    const thumb = el('a', 'a-thumb');
    thumb.href = '/events/' + encodeURIComponent(a.id);
    if (a.snapshot) { const img = el('img'); img.alt = ''; img.loading = 'lazy'; thumb.append(img); }
    else thumb.append(el('span', 'no-thumb'));
    const body = el('div', 'a-body');
    const head = el('div', 'a-head');
    const title = el('a', 'a-title'); title.href = thumb.href;
    head.append(el('span', 'a-sev'), ' ', title, ' · ', el('span', 'a-where'));
    body.append(head, el('div', 'a-meta small muted'), el('div', 'a-staff small'), el('div', 'a-status'), el('q', 'a-comment small'));
    const item = {data: a, el: li};
    if (data.canReview) {
      const actions = el('div', 'a-actions');
      ['acknowledged', 'resolved', 'false_positive'].forEach(function (status) {
        const b = el('button', 'small act-' + status, T.act[status]);
        b.type = 'button';
        b.onclick = function () { openReview(item, status, b); };
        actions.append(b);
      });
      body.append(actions, el('div', 'a-form'));
    }
    li.append(thumb, body);
    fill(item, a);
    return item;
  }

  function upsert(a, live) {
    const known = alerts.get(a.id);
    if (known) {
      known.data = Object.assign(known.data, a);
      fill(known, known.data);
      if (live) { known.el.classList.add('flash'); setTimeout(() => known.el.classList.remove('flash'), 1500); }
      return known;
    }
    const item = build(a);
    alerts.set(a.id, item);
    // newest first by start time
    let before = null;
    for (const li of list.children) {
      const other = alerts.get(li.dataset.id);
      if (other && other.data.started_at < a.started_at) { before = li; break; }
    }
    list.insertBefore(item.el, before);
    while (list.children.length > MAX_ALERTS) {
      const last = list.lastElementChild; alerts.delete(last.dataset.id); last.remove();
    }
    if (live) {
      item.el.classList.add('flash', 'new');
      setTimeout(() => item.el.classList.remove('flash'), 3000);
      if (a.phase === 'started') alarm(a);
      if (a.phase === 'started') countToday(a);
    }
    const empty = document.getElementById('no-alerts');
    if (empty) empty.remove();
    return item;
  }

  // ---- today's counts per type (bars) ----
  const today = document.getElementById('today');
  function countToday(a) {
    if (!today || Date.parse(a.started_at) / 1000 < Number(today.dataset.since)) return;
    const li = today.querySelector('li[data-type="' + a.type + '"]');
    if (!li) return;
    li.querySelector('b').textContent = Number(li.querySelector('b').textContent) + 1;
    li.classList.remove('zero');
    const counts = Array.from(today.querySelectorAll('li b')).map(b => Number(b.textContent));
    const top = Math.max(1, ...counts);
    today.querySelectorAll('li').forEach((row, i) => { row.querySelector('i').style.width = (100 * counts[i] / top) + '%'; });
    document.getElementById('today-total').textContent = counts.reduce((x, y) => x + y, 0);
  }

  // ---- sound and notifications ----
  const soundBtn = document.getElementById('sound-toggle');
  let soundOn = localStorage.getItem('hm-sound') !== 'off';
  function showSound() { soundBtn.textContent = soundOn ? T.soundOn : T.soundOff; soundBtn.setAttribute('aria-pressed', String(soundOn)); }
  soundBtn.onclick = function () { soundOn = !soundOn; localStorage.setItem('hm-sound', soundOn ? 'on' : 'off'); showSound(); };
  showSound();
  const notifyBtn = document.getElementById('notify-enable');
  if ('Notification' in window && Notification.permission === 'default') {
    notifyBtn.hidden = false;
    notifyBtn.onclick = function () { Notification.requestPermission().then(function () { notifyBtn.hidden = true; }); };
  }
  // speech is off until someone turns it on in this browser (a hall may not want the board talking)
  const speechBtn = document.getElementById('speech-toggle');
  let speechOn = localStorage.getItem('hm-speech') === 'on';
  function showSpeech() { speechBtn.textContent = speechOn ? T.speechOn : T.speechOff; speechBtn.setAttribute('aria-pressed', String(speechOn)); }
  speechBtn.onclick = function () {
    speechOn = !speechOn; localStorage.setItem('hm-speech', speechOn ? 'on' : 'off'); showSpeech();
    if (!speechOn && window.speechSynthesis) window.speechSynthesis.cancel();
  };
  showSpeech();
  let lastChime = 0;
  function alarm(a) {
    // every new alert: one chime (a burst of alerts chimes once), its window and behaviour spoken;
    // a desktop notification for high ones
    const d = a.display;
    const now = Date.now();
    if (soundOn && now - lastChime > 1500) { lastChime = now; window.hmAlarm.chime(); }
    if (speechOn) window.hmAlarm.speak(d.where + T.speechSep + d.title, document.documentElement.lang);
    if (a.severity === 'high') {
      window.hmAlarm.notify(d.title + ' · ' + d.where, d.time + ' · ' + T.severity[a.severity], a.id, '/events/' + a.id);
    }
  }

  // ---- the stream ----
  function setState(state) {
    streamState.dataset.state = state;
    streamState.textContent = state === 'connected' ? T.connected : T.reconnecting;
  }

  data.alerts.slice().reverse().forEach(function (a) { upsert(a, false); });
  if (!data.alerts.length) list.append(Object.assign(el('li', 'muted', T.noAlerts), {id: 'no-alerts'}));
  tickTiles();
  setInterval(tickTiles, 1000);

  function toLogin() {
    window.location.assign('/login?next=' + encodeURIComponent(window.location.pathname + window.location.search));
  }

  const source = new EventSource('/events/stream?after=' + encodeURIComponent(data.lastId));
  source.onopen = function () { setState('connected'); };
  source.onerror = function () {
    setState('reconnecting');
    // a stream that cannot reconnect may mean the session ended: ask the server, and go to the login page
    fetch('/api/health', {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (r) { if (r.status === 401) toLogin(); }).catch(function () {});
  };
  source.addEventListener('logout', function () { source.close(); toLogin(); });
  source.addEventListener('alert', function (ev) {
    const a = JSON.parse(ev.data);
    window.hmBoard.received += 1;
    window.hmBoard.lastId = a.seq;
    upsert(a, true);
  });
  // a review made anywhere (another board, the event page, the API): update the alert if it is shown
  source.addEventListener('review', function (ev) {
    const r = JSON.parse(ev.data);
    window.hmBoard.lastId = r.seq;
    window.hmBoard.reviews += 1;
    const known = alerts.get(r.id);
    if (!known) return;
    known.data = Object.assign(known.data, {review_status: r.review_status, review_comment: r.review_comment,
                                            reviewed_by: r.reviewed_by, reviewed_at: r.reviewed_at});
    fill(known, known.data);
    known.el.classList.add('flash'); setTimeout(() => known.el.classList.remove('flash'), 1500);
  });
  source.addEventListener('board', function (ev) { renderTiles(JSON.parse(ev.data).tiles); });
  window.hmBoard.source = source;
})();
