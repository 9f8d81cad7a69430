// The event page's keyboard shortcuts: j / k next / previous event, n next unreviewed,
// a acknowledge, f false positive (managers), ? shows or hides the list of shortcuts.
(function () {
  'use strict';
  const nav = document.getElementById('event-nav');
  const help = document.getElementById('keys-help');
  const toggle = document.getElementById('keys-toggle');
  if (!nav || !help) return;
  const canReview = nav.dataset.canReview === '1';

  function showHelp(show) {
    help.hidden = !show;
    toggle.setAttribute('aria-expanded', String(show));
  }
  toggle.onclick = function () { showHelp(help.hidden); };

  function go(id) {
    const a = document.getElementById(id);
    if (a && a.href) window.location.assign(a.href);
  }
  function review(status) {
    const b = document.getElementById('act-' + status);
    if (canReview && b) b.click();        // the form's own button: same CSRF token, comment and redirect
  }
  const KEYS = {
    j: function () { go('next-event'); },
    k: function () { go('prev-event'); },
    n: function () { go('next-new'); },
    a: function () { review('acknowledged'); },
    f: function () { review('false_positive'); },
    '?': function () { showHelp(help.hidden); },
    Escape: function () { showHelp(false); },
  };
  document.addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    const t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;   // typing a comment
    const fn = KEYS[ev.key];
    if (!fn) return;
    ev.preventDefault();
    fn();
  });
})();
