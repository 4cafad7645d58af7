// The key page asks every second what the key helper reported, redraws the steps, and moves on by
// itself once the helper's part is done. Without this script the page still works: reload it.
(function () {
  "use strict";
  var script = document.getElementById("key-script");
  if (!script) { return; }
  var steps = document.getElementById("key-steps");
  var problem = document.getElementById("key-problem");
  var helperState = document.getElementById("helper-state");
  var failure = document.getElementById("key-failure");
  var error = document.getElementById("key-error");

  function redraw(answer) {
    steps.innerHTML = "";
    answer.steps.forEach(function (step) {
      var item = document.createElement("li");
      item.dataset.step = step.step;
      item.textContent = step.label;
      steps.appendChild(item);
    });
    problem.textContent = answer.problem || "";
    problem.hidden = !answer.problem;
    helperState.textContent = answer.helper_running ? script.dataset.running : script.dataset.waiting;
    helperState.dataset.running = answer.helper_running ? "yes" : "no";
    failure.hidden = !answer.failed;
    error.textContent = answer.error || "";
    error.hidden = !answer.error;
  }

  function poll() {
    fetch(script.dataset.status, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (answer && answer.next) { window.location.assign(answer.next); return; }
        if (answer) { redraw(answer); }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
}());
