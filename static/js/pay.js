// The payment page asks every two seconds where the order stands and moves on by itself
// once it is paid. Without this script the page still works: reload it after paying.
(function () {
  "use strict";
  var script = document.getElementById("pay-script");
  if (!script || !document.getElementById("pay-qr")) { return; }
  var delay = 2000;

  function poll() {
    fetch(script.dataset.status, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (answer && !answer.waiting && answer.next) {
          window.location.assign(answer.next);
          return;
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, delay * 2); });
  }
  window.setTimeout(poll, delay);
}());
