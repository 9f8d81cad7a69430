// Waiting for a clip's blurred copy (dashboard/privacy.py): poll its progress, show it, and once the
// copy is ready give the <video> (or, on the download page, the browser) the file.
(function () {
  'use strict';
  const box = document.getElementById('blur-wait');
  if (!box) return;
  const bar = box.querySelector('progress');
  const pct = box.querySelector('.pct');
  function done() {
    box.hidden = true;
    const video = document.getElementById('clip');
    if (video && video.dataset.src) { video.src = video.dataset.src; video.load(); }
    if (box.dataset.file) window.location.href = box.dataset.file;
  }
  function poll() {
    fetch(box.dataset.status, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(r => r.json()).then(function (s) {
        if (s.status === 'ready') return done();
        if (s.status === 'failed') { box.querySelector('span').textContent = box.dataset.failed; bar.hidden = true; return; }
        bar.value = s.progress || 0;
        pct.textContent = Math.round(100 * (s.progress || 0)) + ' %';
        setTimeout(poll, 800);
      }).catch(() => setTimeout(poll, 2000));
  }
  poll();
})();
