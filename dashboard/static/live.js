// Live view: about one frame a second per camera, only while the page is visible (the worker
// analyses at ~1 fps). A camera with no frame yet shows its placeholder.
(function () {
  const cams = document.querySelector('.cams');
  if (!cams) return;
  const label = cams.dataset.liveLabel || '';
  document.querySelectorAll('.cam img').forEach(function (img) {
    img.addEventListener('error', function () { img.closest('.cam').classList.add('no-image'); });
  });
  document.querySelectorAll('.cam[data-live="1"]').forEach(function (fig) {
    const img = fig.querySelector('img'), time = fig.querySelector('.cam-time');
    const url = img.getAttribute('src');
    let shown = null;
    async function next() {
      if (!document.hidden) {
        try {
          const r = await fetch(url, {cache: 'no-store'});
          if (r.ok) {
            const blob = await r.blob(), objectUrl = URL.createObjectURL(blob);
            img.src = objectUrl; if (shown) URL.revokeObjectURL(shown); shown = objectUrl;
            time.textContent = label + ' ' + (r.headers.get('X-Frame-Time') || '');
            fig.classList.remove('no-image');
          }
        } catch (e) { /* the next tick tries again */ }
      }
      setTimeout(next, 1000);
    }
    setTimeout(next, 1000);
  });
})();
