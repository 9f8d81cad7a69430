// Live view: about one frame a second per camera, only while the page is visible (the worker
// analyses at ~1 fps). The server says how old each frame is and whether its camera is connected
// (X-Frame-Age, X-Camera-Status); a frame is called live only while it is younger than
// data-stale-after seconds, counting the time since it arrived, so a camera that dies, or a server
// that stops answering, turns the tile into "offline / stopped, last frame at ..." within seconds.
// Click a tile to enlarge it (a larger frame from the same route, ?width=), full screen, Esc to close.
(function () {
  const cams = document.querySelector('.cams');
  if (!cams) return;
  const d = cams.dataset, staleAfter = parseFloat(d.staleAfter || '5'), poll = d.poll === '1';

  // one camera feed into one <figure class="cam">: fetch, show, judge its age
  function Feed(fig, url) {
    const img = fig.querySelector('img'), time = fig.querySelector('.cam-time');
    const stale = fig.querySelector('.cam-stale');
    let shown = null, last = null, timer = null, ticker = null, running = false;
    function render() {
      if (!last) return;
      const age = last.age + (performance.now() - last.at) / 1000;
      const live = last.source === 'live' && last.status === 'online' && age <= staleAfter;
      fig.classList.toggle('is-stale', !live);
      fig.dataset.state = live ? 'live' : (last.status === 'offline' ? 'offline' : last.source === 'live' ? 'stale' : 'snapshot');
      if (live) {
        stale.hidden = true;
        time.textContent = d.liveLabel + ' ' + last.time;
      } else {
        const why = {offline: d.textOffline, stale: d.textStale, snapshot: d.textNotLive}[fig.dataset.state];
        stale.hidden = false;
        stale.querySelector('.cam-stale-why').textContent = why;
        stale.querySelector('.cam-stale-time').textContent =
          (last.source === 'live' ? d.textLast : d.textSnapshot) + ' ' + last.time;
        time.textContent = (last.source === 'live' ? d.textLast : d.textSnapshot) + ' ' + last.time;
      }
    }
    async function next() {
      if (!running) return;
      if (!document.hidden) {
        const ctl = new AbortController(), guard = setTimeout(function () { ctl.abort(); }, 4000);
        try {
          const r = await fetch(url, {cache: 'no-store', signal: ctl.signal});
          if (r.ok && running) {
            const blob = await r.blob(), objectUrl = URL.createObjectURL(blob);
            img.src = objectUrl; if (shown) URL.revokeObjectURL(shown); shown = objectUrl;
            last = {age: parseFloat(r.headers.get('X-Frame-Age') || '0'), at: performance.now(),
                    source: r.headers.get('X-Frame-Source') || 'live',
                    status: r.headers.get('X-Camera-Status') || 'online',
                    time: r.headers.get('X-Frame-Time') || ''};
            fig.classList.remove('no-image');
            render();
          }
        } catch (e) { /* the next tick tries again; the age keeps counting meanwhile */ }
        finally { clearTimeout(guard); }
      }
      if (running) timer = setTimeout(next, 1000);
    }
    return {
      start: function () { running = true; next(); ticker = setInterval(render, 500); },
      stop: function () {
        running = false; clearTimeout(timer); clearInterval(ticker); last = null;
        if (shown) URL.revokeObjectURL(shown); shown = null;
      },
    };
  }

  document.querySelectorAll('.cam img').forEach(function (img) {
    img.addEventListener('error', function () { if (img.getAttribute('src')) img.closest('.cam').classList.add('no-image'); });
  });
  if (poll) {
    cams.querySelectorAll('.cam').forEach(function (fig) {
      Feed(fig, fig.querySelector('img').getAttribute('src')).start();
    });
  }

  // the enlarged view: a modal <dialog> (Esc closes it), full screen on request
  const dialog = document.getElementById('live-big');
  if (!dialog) return;
  const bigFig = dialog.querySelector('.cam'), bigImg = bigFig.querySelector('img');
  const bigFrame = bigFig.querySelector('.cam-frame');
  let big = null;
  function open(fig, url) {
    dialog.querySelector('.live-big-name').textContent = fig.dataset.name || '';
    dialog.dataset.camera = fig.dataset.camera;
    bigImg.alt = fig.dataset.name || '';
    bigImg.removeAttribute('src');
    bigFig.classList.remove('no-image', 'is-stale');
    bigFig.querySelector('.cam-stale').hidden = true;
    bigFig.querySelector('.cam-time').textContent = poll ? d.textConnecting : fig.querySelector('.cam-time').textContent;
    const bigUrl = url + '?width=' + (d.bigWidth || '1920');
    big = Feed(bigFig, bigUrl);
    if (poll) big.start(); else bigImg.src = bigUrl;
    dialog.showModal();
  }
  cams.querySelectorAll('.cam').forEach(function (fig) {
    // the tile's own URL (its feed swaps blob: URLs into the <img>)
    const frame = fig.querySelector('.cam-frame'), url = fig.querySelector('img').getAttribute('src');
    frame.addEventListener('click', function () { open(fig, url); });
    frame.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(fig, url); }
    });
  });
  dialog.addEventListener('close', function () {
    if (big) big.stop(); big = null;
    if (document.fullscreenElement) document.exitFullscreen();
  });
  dialog.querySelector('.live-big-close').addEventListener('click', function () { dialog.close(); });
  dialog.querySelector('.live-big-full').addEventListener('click', function () {
    if (document.fullscreenElement) document.exitFullscreen(); else bigFrame.requestFullscreen();
  });
  dialog.addEventListener('click', function (e) { if (e.target === dialog) dialog.close(); });
})();
