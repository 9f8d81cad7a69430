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
  const remove = document.getElementById('camera-remove');
  if (remove) remove.addEventListener('submit', function (ev) {
    if (!window.confirm(remove.dataset.confirm)) ev.preventDefault();
  });
})();
