// The event clip with the detections drawn over it: the boxes JSON beside the clip holds the boxes
// of each analysed frame ({t: seconds from clip start, boxes: [{box, label, color: [b, g, r]}]});
// a canvas on top of the <video> draws the frame for video.currentTime, in step with playback.
(function () {
  'use strict';
  const video = document.getElementById('clip');
  if (!video) return;
  const canvas = document.getElementById('overlay');
  const ctx = canvas.getContext('2d');
  const toggle = document.getElementById('show-boxes');
  const state = document.getElementById('boxes-state');
  let doc = null, hold = 1.5;
  // the overlay's labels are stored in English (vision/media/labels.py); the page says them in its language
  const words = JSON.parse(video.dataset.words || '{}');
  const wordRe = Object.keys(words).length ? new RegExp(Object.keys(words).sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null;
  function say(label) {
    if (!wordRe) return label;
    return label.replace(wordRe, (w) => words[w]).replace(/: /g, '：').replace(/, /g, '、');
  }
  window.hmPlayer = {draws: 0, boxesDrawn: 0, frames: 0};

  fetch(video.dataset.boxes, {credentials: 'same-origin'}).then(function (r) {
    if (!r.ok) throw new Error(r.status);
    return r.json();
  }).then(function (json) {
    doc = json;
    doc.frames.sort((a, b) => a.t - b.t);
    window.hmPlayer.frames = doc.frames.length;
    // a frame's boxes stay up until the next analysed frame (analysis runs at ~1 fps), at most 3 s
    const gaps = doc.frames.slice(1).map((f, i) => f.t - doc.frames[i].t).sort((a, b) => a - b);
    if (gaps.length) hold = Math.min(3, Math.max(0.5, gaps[Math.floor(gaps.length / 2)] * 1.5));
    draw();
  }).catch(function () { if (state) state.textContent = '—'; toggle && (toggle.disabled = true); });

  function frameAt(t) {
    const frames = doc.frames;
    let lo = 0, hi = frames.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (frames[mid].t <= t + 0.05) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (found < 0 || t - frames[found].t > hold) return null;
    return frames[found];
  }

  function contentRect() {
    // where the picture is inside the <video> box (object-fit: contain letterboxes it)
    const w = video.clientWidth, h = video.clientHeight, vw = video.videoWidth || w, vh = video.videoHeight || h;
    const s = Math.min(w / vw, h / vh);
    return {x: (w - vw * s) / 2, y: (h - vh * s) / 2, w: vw * s, h: vh * s};
  }

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    const w = video.clientWidth, h = video.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
      canvas.style.width = w + 'px'; canvas.style.height = h + 'px';
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!doc || (toggle && !toggle.checked)) return;
    const frame = frameAt(video.currentTime);
    window.hmPlayer.draws += 1;
    if (state) state.textContent = frame ? (frame.boxes.length === 1 ? state.dataset.textOne : state.dataset.text).replace('{n}', frame.boxes.length).replace('{t}', frame.t.toFixed(1)) : '';
    if (!frame) return;
    const r = contentRect();
    const sx = r.w / (doc.width || video.videoWidth || r.w), sy = r.h / (doc.height || video.videoHeight || r.h);
    ctx.lineWidth = 2;
    ctx.font = '12px system-ui, sans-serif';
    frame.boxes.forEach(function (b) {
      const [x1, y1, x2, y2] = b.box, c = b.color || [0, 200, 0];
      const colour = 'rgb(' + c[2] + ',' + c[1] + ',' + c[0] + ')';
      const x = r.x + x1 * sx, y = r.y + y1 * sy, bw = (x2 - x1) * sx, bh = (y2 - y1) * sy;
      ctx.strokeStyle = colour; ctx.strokeRect(x, y, bw, bh);
      if (b.label) {
        const label = say(b.label);
        const tw = ctx.measureText(label).width + 6;
        ctx.fillStyle = colour; ctx.fillRect(x, Math.max(0, y - 16), tw, 16);
        ctx.fillStyle = '#fff'; ctx.fillText(label, x + 3, Math.max(12, y - 4));
      }
      window.hmPlayer.boxesDrawn += 1;
    });
  }

  if ('requestVideoFrameCallback' in video) {
    const onFrame = function () { draw(); video.requestVideoFrameCallback(onFrame); };
    video.requestVideoFrameCallback(onFrame);
  } else {
    const loop = function () { if (!video.paused && !video.ended) { draw(); requestAnimationFrame(loop); } };
    video.addEventListener('play', () => requestAnimationFrame(loop));
  }
  ['seeked', 'loadeddata', 'pause', 'timeupdate'].forEach(e => video.addEventListener(e, draw));
  window.addEventListener('resize', draw);
  if (toggle) toggle.addEventListener('change', draw);
})();
