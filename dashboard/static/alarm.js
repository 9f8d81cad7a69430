// The board's alarm for new alerts: a short two-tone chime rendered with WebAudio into a WAV (no
// sound file is shipped) played through an <audio> element, the alert spoken with speechSynthesis
// ("2号窗口，窗口使用手机") in the page's language, and a browser Notification for high alerts.
(function () {
  'use strict';
  let wavUrl = null;

  function encodeWav(samples, rate) {
    const buf = new ArrayBuffer(44 + samples.length * 2), v = new DataView(buf);
    const text = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
    text(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); text(8, 'WAVE');
    text(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
    text(36, 'data'); v.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      v.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return new Blob([buf], {type: 'audio/wav'});
  }

  function synthesize(rate, seconds) {
    // the same chime without WebAudio: two decaying sine tones
    const n = Math.round(rate * seconds), out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / rate, f = t < seconds / 2 ? 880 : 660, tt = t % (seconds / 2);
      out[i] = 0.5 * Math.sin(2 * Math.PI * f * t) * Math.exp(-6 * tt);
    }
    return out;
  }

  async function render() {
    const rate = 22050, seconds = 0.6;
    const Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
    if (!Offline) return encodeWav(synthesize(rate, seconds), rate);
    const ctx = new Offline(1, Math.round(rate * seconds), rate);
    [[880, 0], [660, seconds / 2]].forEach(function ([freq, at]) {
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = 'sine'; osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.6, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + seconds / 2 - 0.02);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at); osc.stop(at + seconds / 2);
    });
    const rendered = await ctx.startRendering();
    return encodeWav(rendered.getChannelData(0), rate);
  }

  async function chime() {
    if (!wavUrl) wavUrl = URL.createObjectURL(await render());
    const audio = new Audio(wavUrl);
    window.hmAlarm.played += 1;
    try { await audio.play(); } catch (e) { window.hmAlarm.blocked += 1; }  // no user gesture yet
  }

  function notify(title, body, tag, url) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return false;
    try {
      const n = new Notification(title, {body: body, tag: tag, requireInteraction: true});
      n.onclick = function () { window.focus(); if (url) location.href = url; };
      window.hmAlarm.notified += 1;
      return true;
    } catch (e) { return false; }
  }

  // at most a few utterances wait: a burst of alerts is not read out for minutes
  const MAX_QUEUED = 3;
  let queued = 0;
  function speak(text, lang) {
    const synth = window.speechSynthesis;
    if (!synth || typeof SpeechSynthesisUtterance === 'undefined') { window.hmAlarm.unspoken += 1; return false; }
    if (queued >= MAX_QUEUED) { window.hmAlarm.unspoken += 1; return false; }
    const u = new SpeechSynthesisUtterance(text);
    u.lang = lang || document.documentElement.lang || 'zh-CN';
    u.rate = 1.0;
    let finished = false;
    const done = function () { if (!finished) { finished = true; queued = Math.max(0, queued - 1); } };
    u.onend = done; u.onerror = done;
    setTimeout(done, 10000);   // a browser without voices may never say it ended
    queued += 1;
    synth.speak(u);
    window.hmAlarm.spoken += 1;
    window.hmAlarm.lastSpoken = text;
    return true;
  }

  window.hmAlarm = {played: 0, blocked: 0, notified: 0, spoken: 0, unspoken: 0, lastSpoken: null,
                    chime: chime, notify: notify, speak: speak};
})();
