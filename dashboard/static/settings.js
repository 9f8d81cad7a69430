// The camera form: "test the connection" opens the address on the server with the real capture code
// and shows the first frame or the reason; removing a camera asks first. The password stays ***.
(function () {
  'use strict';
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById('camera-form');
  const button = document.getElementById('camera-test');
  const box = document.getElementById('camera-test-result');
  window.hmCameraTest = {done: 0, ok: null};
  if (form && button && box) {
    button.addEventListener('click', async function () {
      const msg = box.querySelector('.msg'), img = box.querySelector('img');
      const label = button.textContent;
      button.disabled = true; button.textContent = button.dataset.busy;
      msg.className = 'msg'; msg.textContent = ''; img.hidden = true;
      const body = new URLSearchParams();
      body.set('url', form.elements.url.value);
      if (form.elements.camera_id) body.set('camera_id', form.elements.camera_id.value);
      try {
        const r = await fetch('/settings/cameras/test', {method: 'POST', credentials: 'same-origin', body: body,
          headers: {'X-CSRF-Token': csrf, 'Accept': 'application/json'}});
        const data = await r.json();
        if (!r.ok) throw new Error((data.error && data.error.message) || r.status);
        window.hmCameraTest.ok = data.ok;
        msg.className = 'msg ' + (data.ok ? 'ok' : 'error');
        msg.textContent = data.ok ? data.message : data.message + ': ' + data.error;
        if (data.ok) { img.src = data.image; img.hidden = false; }
      } catch (err) {
        window.hmCameraTest.ok = false;
        msg.className = 'msg error'; msg.textContent = String(err.message || err);
      } finally {
        button.disabled = false; button.textContent = label;
        window.hmCameraTest.done += 1;
      }
    });
  }
  // the sub-stream of the common NVR address forms: Hikvision .../Channels/101 -> 102, Dahua subtype=0 -> 1
  const hint = document.getElementById('substream-hint');
  function substream(url) {
    const hik = url.replace(/(\/Channels\/\d*?)01\b/i, function (_m, head) { return head + '02'; });
    if (hik !== url) return hik;
    const dahua = url.replace(/([?&]subtype=)0\b/i, function (_m, head) { return head + '1'; });
    return dahua !== url ? dahua : null;
  }
  if (form && hint) {
    const use = document.createElement('button');
    use.type = 'button'; use.className = 'small'; use.id = 'use-substream'; use.textContent = hint.dataset.text;
    hint.append(' ', use);
    // (style, not the hidden attribute: the page's button styles would show it anyway)
    const check = function () { use.style.display = substream(form.elements.url.value) ? '' : 'none'; };
    form.elements.url.addEventListener('input', check);
    use.addEventListener('click', function () {
      const sub = substream(form.elements.url.value);
      if (sub) form.elements.url.value = sub;
      check();
    });
    check();
  }
  const remove = document.getElementById('camera-remove');
  if (remove) remove.addEventListener('submit', function (ev) {
    if (!window.confirm(remove.dataset.confirm)) ev.preventDefault();
  });
})();
