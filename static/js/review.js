// The review screen: document tabs, image zoom and rotate, audited number reveal, and
// keyboard shortcuts (N take the next item, A approve, R reject, M ask for more materials).
(function () {
  "use strict";
  var tabs = document.querySelectorAll(".doc-tabs [data-doc]");
  function show(kind) {
    tabs.forEach(function (tab) { tab.classList.toggle("active", tab.dataset.doc === kind); });
    document.querySelectorAll(".doc-pane").forEach(function (pane) {
      pane.classList.toggle("d-none", pane.id !== "doc-" + kind);
    });
  }
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function (event) { event.preventDefault(); show(tab.dataset.doc); });
  });

  document.querySelectorAll(".doc-pane").forEach(function (pane) {
    var image = pane.querySelector(".doc-image");
    if (!image) { return; }
    var state = { zoom: 1, rotate: 0 };
    function apply() {
      image.style.transform = "scale(" + state.zoom + ") rotate(" + state.rotate + "deg)";
      image.dataset.zoom = state.zoom.toFixed(2);
      image.dataset.rotate = String(state.rotate);
    }
    pane.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        state.zoom = Math.min(6, Math.max(0.2, state.zoom * parseFloat(button.dataset.zoom)));
        apply();
      });
    });
    pane.querySelectorAll("[data-rotate]").forEach(function (button) {
      button.addEventListener("click", function () { state.rotate = (state.rotate + 90) % 360; apply(); });
    });
    pane.querySelectorAll("[data-reset]").forEach(function (button) {
      button.addEventListener("click", function () { state.zoom = 1; state.rotate = 0; apply(); });
    });
    image.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) { return; }
      event.preventDefault();
      state.zoom = Math.min(6, Math.max(0.2, state.zoom * (event.deltaY < 0 ? 1.1 : 0.9)));
      apply();
    });
  });

  var revealForm = document.getElementById("reveal-form");
  document.querySelectorAll("button.reveal").forEach(function (button) {
    button.addEventListener("click", function () {
      var data = new FormData(revealForm);
      data.append("field", button.dataset.field);
      fetch(revealForm.action, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (answer.error) {
            button.textContent = answer.error;
            button.disabled = true;
            return;
          }
          document.querySelector('[data-reveal-value="' + answer.field + '"]').textContent = answer.value;
          button.remove();
        });
    });
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey ||
        /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable) { return; }
    var key = event.key.toLowerCase();
    var ids = { n: "next-claim", a: "approve", r: "reject", m: "more-materials" };
    var element = ids[key] && document.getElementById(ids[key]);
    if (!element) { return; }
    event.preventDefault();
    element.click();
  });
}());
