// Zone editor: the windows' polygons (staff zone, counter, citizen zone) drawn over a frame of the
// camera; drag a corner to move it, drag a "+" to add a corner, right-click (or double-click) a
// corner to delete it, "Redraw" and click to place new corners. Saving sends relative (0..1)
// coordinates; the server writes cameras.yaml only if the result validates.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('zone-data').textContent);
  const T = data.text;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const img = document.getElementById('zone-image'), svg = document.getElementById('zone-svg');
  const stage = document.getElementById('zone-stage'), msg = document.getElementById('zone-message');
  const pickWindow = document.getElementById('zone-window');
  const NS = 'http://www.w3.org/2000/svg';
  const KINDS = ['staff_zone', 'counter', 'citizen_zone'];
  const windows = {};
  data.windows.forEach(w => { windows[w.id] = {id: w.id, name: w.name, staff_zone: w.staff_zone, counter: w.counter, citizen_zone: w.citizen_zone}; });
  let W = 1280, H = 720, drag = null, dirty = false;
  window.hmZones = {windows: windows, get dirty() { return dirty; }};

  const current = () => windows[pickWindow.value];
  const kind = () => document.querySelector('input[name=zone]:checked').value;
  function points() { return current()[kind()]; }

  function size() {
    if (img.naturalWidth) { W = img.naturalWidth; H = img.naturalHeight; stage.classList.remove('no-image'); }
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    draw();
  }
  img.addEventListener('load', size);
  img.addEventListener('error', function () { stage.classList.add('no-image'); stage.dataset.empty = T.noImage; size(); });

  function node(tag, attrs) {
    const e = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(k => e.setAttribute(k, attrs[k]));
    return e;
  }
  const px = p => [p[0] * W, p[1] * H];

  function draw() {
    svg.replaceChildren();
    const r = Math.max(5, W / 140);
    Object.values(windows).forEach(function (win) {
      KINDS.forEach(function (k) {
        const pts = win[k];
        if (!pts || !pts.length) return;
        const active = win === current() && k === kind();
        const poly = node(pts.length > 2 ? 'polygon' : 'polyline', {
          points: pts.map(p => px(p).join(',')).join(' '),
          class: 'zone zone-' + k + (win === current() ? ' mine' : '') + (active ? ' active' : '')});
        svg.append(poly);
        if (k === 'staff_zone') {
          const [x, y] = px(pts[0]);
          const label = node('text', {x: x + 4, y: y + r * 3, class: 'zone-label', 'font-size': Math.max(12, W / 48)});
          label.textContent = win.name;
          svg.append(label);
        }
      });
    });
    const pts = points();
    if (!pts) return;
    pts.forEach(function (p, i) {
      if (pts.length < 3) return;
      const q = pts[(i + 1) % pts.length], [x, y] = px([(p[0] + q[0]) / 2, (p[1] + q[1]) / 2]);
      const mid = node('circle', {cx: x, cy: y, r: r * 0.7, class: 'mid'});
      mid.addEventListener('pointerdown', function (ev) {
        ev.preventDefault(); ev.stopPropagation();
        pts.splice(i + 1, 0, [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2]);
        changed(); startDrag(ev, i + 1);
      });
      svg.append(mid);
    });
    pts.forEach(function (p, i) {
      const [x, y] = px(p);
      const handle = node('circle', {cx: x, cy: y, r: r, class: 'handle', 'data-index': i});
      handle.addEventListener('pointerdown', function (ev) {
        if (ev.button !== 0) return;
        ev.preventDefault(); ev.stopPropagation(); startDrag(ev, i);
      });
      const remove = function (ev) { ev.preventDefault(); ev.stopPropagation(); if (pts.length > 3) { pts.splice(i, 1); changed(); draw(); } };
      handle.addEventListener('contextmenu', remove);
      handle.addEventListener('dblclick', remove);
      svg.append(handle);
    });
  }

  function toRel(ev) {
    const pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
    const p = pt.matrixTransform(svg.getScreenCTM().inverse());
    const clamp = v => Math.min(1, Math.max(0, v));
    return [Math.round(clamp(p.x / W) * 10000) / 10000, Math.round(clamp(p.y / H) * 10000) / 10000];
  }

  function startDrag(ev, index) { drag = {index: index, id: ev.pointerId}; svg.setPointerCapture(ev.pointerId); }
  svg.addEventListener('pointermove', function (ev) {
    if (!drag) return;
    points()[drag.index] = toRel(ev); changed(); draw();
  });
  svg.addEventListener('pointerup', function () { drag = null; });
  svg.addEventListener('pointerdown', function (ev) {
    // on the picture itself: place a corner while (re)drawing a zone of fewer than 3 corners
    if (ev.button !== 0 || drag) return;
    const win = current(), k = kind();
    if (!win[k]) win[k] = [];
    if (win[k].length >= 3 && !stage.classList.contains('drawing')) return;
    win[k].push(toRel(ev)); changed(); draw();
  });

  function changed() { dirty = true; msg.textContent = ''; msg.className = 'zone-message'; }

  document.getElementById('zone-redraw').onclick = function () {
    current()[kind()] = []; stage.classList.add('drawing'); changed(); draw();
  };
  document.getElementById('zone-remove').onclick = function () {
    if (kind() !== 'citizen_zone') { msg.textContent = T.needThree; return; }
    current().citizen_zone = null; changed(); draw();
  };
  pickWindow.onchange = function () { stage.classList.remove('drawing'); draw(); };
  document.querySelectorAll('input[name=zone]').forEach(r => { r.onchange = function () { stage.classList.remove('drawing'); draw(); }; });

  document.getElementById('zone-save').onclick = async function () {
    const body = {file_hash: data.fileHash, windows: {}};
    Object.values(windows).forEach(function (w) {
      body.windows[w.id] = {staff_zone: w.staff_zone, counter: w.counter, citizen_zone: w.citizen_zone && w.citizen_zone.length ? w.citizen_zone : null};
    });
    msg.className = 'zone-message'; msg.textContent = T.saving;
    try {
      const r = await fetch(data.saveUrl, {method: 'POST', credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf},
        body: JSON.stringify(body)});
      const out = await r.json();
      if (!r.ok) {   // what is wrong in the page's words; where (file:line: key) and the check's own words as code
        msg.className = 'zone-message error';
        const problems = (out.error && out.error.problems) || [];
        msg.replaceChildren(document.createTextNode(T.refused || ''));
        if (!problems.length) {
          const where = document.createElement('code');
          where.textContent = (out.error && out.error.message) || String(r.status);
          msg.append(' ', where);
        }
        const list = document.createElement('ul');
        problems.forEach(function (p) {
          const li = document.createElement('li');
          if (p.where || p.key) {
            const where = document.createElement('code');
            where.textContent = [p.where, p.key].filter(Boolean).join(': ');
            li.append(where, ' ');
          }
          li.append(p.text);
          list.append(li);
        });
        if (problems.length) msg.append(list);
        return;
      }
      data.fileHash = out.file_hash; dirty = false; stage.classList.remove('drawing');
      msg.className = 'zone-message ok'; msg.textContent = out.message;
    } catch (err) { msg.className = 'zone-message error'; msg.textContent = String(err); }
  };
  if (img.complete) size();
  window.addEventListener('beforeunload', function (ev) { if (dirty) { ev.preventDefault(); ev.returnValue = ''; } });
})();
