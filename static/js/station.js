// The job page follows the agent's steps: it asks for the job's progress every half second while the
// job is queued or running, ticks each step as it is reported, and reloads when the job ends (to show
// the actions that fit), or opens the next job in batch mode. Without JavaScript, reload the page.
(function () {
  var box = document.getElementById("job-status");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var last = box.getAttribute("data-status");
  function tick() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        var done = {};
        job.steps.forEach(function (s) { done[s.step] = true; });
        document.querySelectorAll("#steps [data-step]").forEach(function (item) {
          item.classList.toggle("list-group-item-success", !!done[item.getAttribute("data-step")]);
        });
        if (job.next_url) { window.location.assign(job.next_url); return; }
        if (job.interrupted || (job.status !== "queued" && job.status !== "running")) {
          window.location.reload();  // the job ended: show the actions that fit
          return;
        }
        window.setTimeout(tick, 500);
      })
      .catch(function () { window.setTimeout(tick, 2000); });
  }
  if (last === "queued" || last === "running") { tick(); }
}());

// The returned keys page (and the locked keys page) reloads every two seconds while a key waits for
// its wipe (unlock) or is being wiped (unlocked), unless a serial is being typed.
(function () {
  var list = document.getElementById("key-returns") || document.getElementById("key-unlocks");
  if (!list || list.getAttribute("data-working") !== "1") { return; }
  var serial = document.getElementById("serial");
  window.setInterval(function () {
    if (!serial || !serial.value) { window.location.reload(); }
  }, 2000);
}());
