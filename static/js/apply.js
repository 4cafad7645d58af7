// The application form: cities follow the chosen province, the invoice title and
// account name mirror the organisation name, and the captcha picture can be renewed.
// The server checks all of this again; the page works without this script.
(function () {
  "use strict";
  var script = document.getElementById("apply-script");
  var form = document.getElementById("application-form");
  if (!script || !form) { return; }
  var pairs = { region_province: "region_city", bank_province: "bank_city", mailing_province: "mailing_city" };

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

  fetch(script.dataset.regions).then(function (r) { return r.json(); }).then(function (regions) {
    Object.keys(pairs).forEach(function (provinceName) {
      var province = form.elements[provinceName];
      var city = form.elements[pairs[provinceName]];
      province.addEventListener("change", function () { fillCities(city, regions[province.value]); });
    });
    form.dataset.regionsReady = "1";
  });

  var orgName = form.elements.org_name;
  function mirror() {
    document.querySelectorAll(".mirror-org-name").forEach(function (out) { out.textContent = orgName.value; });
  }
  orgName.addEventListener("input", mirror);

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

  var image = document.getElementById("captcha-img");
  document.querySelector(".captcha-refresh").addEventListener("click", function () {
    image.src = script.dataset.captcha + "?t=" + Date.now();
  });
})();
