// The application form: cities follow the chosen province (and come back with the page
// shown again by Back), the invoice title and account name mirror the organisation name,
// and the captcha picture can be renewed.
// The server checks all of this again; the page works without this script.
(function () {
  "use strict";
  var script = document.getElementById("apply-script");
  var form = document.getElementById("application-form");
  if (!script || !form) { return; }
  // The personal form has the mailing address only (and no organisation to mirror).
  var pairs = {};
  ["region_province", "bank_province", "mailing_province"].forEach(function (province) {
    if (form.elements[province]) { pairs[province] = province.replace("province", "city"); }
  });
  // The cities chosen, kept in this page's history entry: a page shown again by Back without
  // the back/forward cache is built anew, and the browser restores a select's value only if
  // its option is already there, which the cities filled in by this script are not.
  var CHOSEN = "applyCities";

  function fillCities(citySelect, cities) {
    var placeholder = citySelect.options[0];
    citySelect.innerHTML = "";
    citySelect.appendChild(placeholder);
    (cities || []).forEach(function (city) {
      var option = document.createElement("option");
      option.value = city[0];
      option.textContent = city[1];
      citySelect.appendChild(option);
    });
    citySelect.value = "";
  }

  function chosenCities() {
    return (history.state && history.state[CHOSEN]) || {};
  }

  function remember(city) {
    var state = Object.assign({}, history.state);
    state[CHOSEN] = Object.assign({}, chosenCities());
    state[CHOSEN][city.name] = city.value;
    history.replaceState(state, "");
  }

  function codes(cities) {
    return cities.map(function (city) { return city[0]; });
  }

  // Each city select holds the cities of its province, and the city chosen before if it is one.
  function restoreCities(regions) {
    var chosen = chosenCities();
    Object.keys(pairs).forEach(function (provinceName) {
      var cities = regions[form.elements[provinceName].value];
      var city = form.elements[pairs[provinceName]];
      if (!cities) { return; }
      var shown = Array.prototype.slice.call(city.options, 1).map(function (option) { return option.value; });
      if (shown.join() !== codes(cities).join()) { fillCities(city, cities); }
      if (!city.value && codes(cities).indexOf(chosen[city.name]) >= 0) { city.value = chosen[city.name]; }
    });
  }

  fetch(script.dataset.regions).then(function (r) { return r.json(); }).then(function (regions) {
    Object.keys(pairs).forEach(function (provinceName) {
      var province = form.elements[provinceName];
      var city = form.elements[pairs[provinceName]];
      province.addEventListener("change", function () {
        fillCities(city, regions[province.value]);
        remember(city);
      });
      city.addEventListener("change", function () { remember(city); });
    });
    restoreCities(regions);
    window.addEventListener("pageshow", function () { restoreCities(regions); });
    form.dataset.regionsReady = "1";
  });

  var orgName = form.elements.org_name;
  function mirror() {
    document.querySelectorAll(".mirror-org-name").forEach(function (out) { out.textContent = orgName.value; });
  }
  if (orgName) { orgName.addEventListener("input", mirror); }

  function toggle() {
    var method = form.querySelector("input[name=identity_method]:checked");
    document.querySelectorAll(".when-legal-rep-bank-card").forEach(function (el) {
      el.classList.toggle("hidden", !method || method.value !== "legal_rep_bank_card");
    });
    document.querySelectorAll(".when-agent-bank-card").forEach(function (el) {
      el.classList.toggle("hidden", form.elements.agent_identity_method.value !== "bank_card");
    });
  }
  form.addEventListener("change", toggle);
  toggle();

  // A new picture for the page's captcha token; the server forgets the earlier answer.
  var image = document.getElementById("captcha-img");
  function newPicture() {
    var url = new URL(image.src);
    url.searchParams.set("r", Date.now());
    image.src = url.href;
  }
  document.querySelector(".captcha-refresh").addEventListener("click", newPicture);
  // A page shown again by Back holds an answer that was used up, or was for an earlier picture.
  window.addEventListener("pageshow", function (event) {
    form.elements.captcha.value = "";
    if (event.persisted) { newPicture(); }
  });
})();
