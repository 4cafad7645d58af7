// The review screen: documents beside what they must match (zoom, rotate both ways, pan to every
// corner), the checklist by exception ("every check holds", a failing check marked on its own, the
// reasons and documents to upload again pre-selected from the failing checks; a re-submitted document
// beside its earlier version, P), the audited number
// reveal, and keys for everything (N take the next, Y every check holds, 1-9 / [ ] documents,
// + - 0 Q E the viewer, A approve, R reject, M more materials, ? the list). A key works wherever the
// focus is, except while typing in a text field; Alt+key works there too (as an access key would:
// headless Chromium fires none, so the page handles Alt itself).
(function () {
  "use strict";
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".doc-tabs [data-doc]"));
  var current = tabs.length ? tabs[0].dataset.doc : null;
  function show(kind) {
    current = kind;
    tabs.forEach(function (tab) { tab.classList.toggle("active", tab.dataset.doc === kind); });
    document.querySelectorAll(".doc-pane").forEach(function (pane) {
      pane.classList.toggle("d-none", pane.id !== "doc-" + kind);
    });
  }
  function step(by) {
    var index = tabs.findIndex(function (tab) { return tab.dataset.doc === current; });
    var next = tabs[index + by];
    if (next) { show(next.dataset.doc); return true; }
    return false;
  }
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function (event) { event.preventDefault(); show(tab.dataset.doc); });
  });
  function pane() { return document.getElementById("doc-" + current); }

  // --- the viewer: zoom by size (so scrolling reaches every corner), rotate by quarter turns
  var viewers = {};
  document.querySelectorAll(".doc-pane").forEach(function (docPane) {
    var image = docPane.querySelector(".doc-image");
    if (!image) { return; }
    var viewer = docPane.querySelector(".viewer"), frame = docPane.querySelector(".doc-frame");
    var state = { zoom: 1, rotate: 0 };
    function fit() {  // the size at zoom 1: the whole document in the viewer, as turned
      var w = image.naturalWidth || 1, h = image.naturalHeight || 1;
      var quarter = state.rotate % 180 !== 0;
      var boxW = viewer.clientWidth || 600, boxH = viewer.clientHeight || 400;
      var scale = Math.min(boxW / (quarter ? h : w), boxH / (quarter ? w : h), 1);
      return { w: w * scale, h: h * scale };
    }
    function apply() {
      var size = fit(), w = size.w * state.zoom, h = size.h * state.zoom, quarter = state.rotate % 180 !== 0;
      frame.style.width = (quarter ? h : w) + "px";
      frame.style.height = (quarter ? w : h) + "px";
      image.style.width = w + "px";
      image.style.height = h + "px";
      image.style.transform = "translate(-50%, -50%) rotate(" + state.rotate + "deg)";
      image.dataset.zoom = state.zoom.toFixed(2);
      image.dataset.rotate = String(state.rotate);
    }
    var actions = {
      zoom: function (factor) { state.zoom = Math.min(6, Math.max(0.2, state.zoom * factor)); apply(); },
      rotate: function (degrees) { state.rotate = (state.rotate + degrees + 360) % 360; apply(); },
      reset: function () { state.zoom = 1; state.rotate = 0; apply(); }
    };
    viewers[docPane.id] = actions;
    if (image.complete) { apply(); } else { image.addEventListener("load", apply); }
    docPane.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () { actions.zoom(parseFloat(button.dataset.zoom)); });
    });
    docPane.querySelectorAll("[data-rotate]").forEach(function (button) {
      button.addEventListener("click", function () { actions.rotate(parseInt(button.dataset.rotate, 10)); });
    });
    docPane.querySelectorAll("[data-reset]").forEach(function (button) {
      button.addEventListener("click", actions.reset);
    });
    viewer.addEventListener("wheel", function (event) {
      if (!event.ctrlKey) { return; }
      event.preventDefault();
      actions.zoom(event.deltaY < 0 ? 1.1 : 0.9);
    });
    var drag = null;  // pan by dragging, as well as with the scroll bars
    viewer.addEventListener("mousedown", function (event) {
      drag = { x: event.clientX, y: event.clientY, left: viewer.scrollLeft, top: viewer.scrollTop };
    });
    window.addEventListener("mousemove", function (event) {
      if (!drag) { return; }
      viewer.scrollLeft = drag.left - (event.clientX - drag.x);
      viewer.scrollTop = drag.top - (event.clientY - drag.y);
    });
    window.addEventListener("mouseup", function () { drag = null; });
  });

  // --- a re-submitted document beside its earlier version, one key away
  document.querySelectorAll("[data-action=compare]").forEach(function (button) {
    button.addEventListener("click", function () {
      var docPane = button.closest(".doc-pane");
      docPane.querySelector(".viewer-earlier").classList.toggle("d-none");
    });
  });

  // --- the checklist by exception
  var reasons = document.getElementById("reason_ids");
  function preselect() {
    var failing = Array.prototype.map.call(document.querySelectorAll(".check-fails:checked"),
                                           function (input) { return input.dataset.fails; });
    if (reasons) {
      Array.prototype.forEach.call(reasons.options, function (option) {
        var answers = (option.dataset.applies || "").split(",").filter(Boolean);
        option.selected = failing.some(function (check) {
          return answers.indexOf(check) >= 0 || answers.indexOf("*:" + check.split(":")[1]) >= 0;
        });
      });
    }
    document.querySelectorAll("input[name=kinds]").forEach(function (box) {
      box.checked = failing.some(function (check) { return check.split(":")[0] === box.value; });
    });
  }
  document.querySelectorAll(".checklist input[type=radio]").forEach(function (input) {
    input.addEventListener("change", preselect);
  });
  function allHold(docPane) {
    docPane.querySelectorAll(".check-holds").forEach(function (input) { input.checked = true; });
    preselect();
    if (!step(1)) {
      var approve = document.getElementById("approve");
      if (approve) { approve.focus(); }
    }
  }
  document.querySelectorAll("[data-action=all-hold]").forEach(function (button) {
    button.addEventListener("click", function () { allHold(button.closest(".doc-pane")); });
  });

  // --- the audited reveal of a full number
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

  // --- keys
  function typing(target) {
    if (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName)) { return true; }
    return target.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/i.test(target.type);
  }
  function click(id) {
    var element = document.getElementById(id);
    if (element) { element.click(); return true; }
    return false;
  }
  function viewer(action, value) {
    var actions = current && viewers["doc-" + current];
    if (actions) { actions[action](value); return true; }
    return false;
  }
  var keys = {
    n: function () {
      var next = document.querySelector("[data-action=next-claim]");
      if (next) { next.click(); return true; }
      return false;
    },
    y: function () {
      var button = current && pane() && pane().querySelector("[data-action=all-hold]");
      if (button) { button.click(); return true; }
      return false;
    },
    a: function () { return click("approve"); },
    r: function () { return click("reject"); },
    m: function () { return click("more-materials"); },
    "[": function () { return step(-1); },
    "]": function () { return step(1); },
    "+": function () { return viewer("zoom", 1.25); },
    "=": function () { return viewer("zoom", 1.25); },
    "-": function () { return viewer("zoom", 0.8); },
    "0": function () { return viewer("reset"); },
    q: function () { return viewer("rotate", -90); },
    e: function () { return viewer("rotate", 90); },
    p: function () {
      var button = current && pane() && pane().querySelector("[data-action=compare]");
      if (button) { button.click(); return true; }
      return false;
    },
    "?": function () {
      var help = document.getElementById("shortcuts");
      if (help) { help.classList.toggle("d-none"); return true; }
      return false;
    }
  };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || (!event.altKey && typing(event.target))) { return; }
    // With Alt the layout may change the character (e.g. Alt+A on a Mac): take the key's code.
    var key = event.altKey && /^Key[A-Z]$/.test(event.code) ? event.code.slice(3).toLowerCase() : event.key.toLowerCase();
    var handled = false;
    if (/^[1-9]$/.test(key) && !event.altKey) {
      var tab = tabs[parseInt(key, 10) - 1];
      if (tab) { show(tab.dataset.doc); handled = true; }
    } else if (keys[key]) {
      handled = keys[key]();
    }
    if (handled) { event.preventDefault(); }
  });
}());
