// A <select data-submit-on-change> sends its form when it changes (no inline handlers: see the CSP).
document.querySelectorAll('[data-submit-on-change]').forEach(function (el) {
  el.addEventListener('change', function () { el.form.submit(); });
});
// A <button data-print> prints the page.
document.querySelectorAll('[data-print]').forEach(function (el) {
  el.addEventListener('click', function () { window.print(); });
});
